/* The floor of a daemon that wakes once a second, in C: idlefloor builds it
 * with the system's cc when there is one and runs it beside the Go floor and
 * the daemons (see ../doc.go).
 *
 *   floor send SRC   a periodic timerfd (1 s) read with a blocking read(2),
 *                    then one 36-byte datagram of IP protocol 112 (CARP's) to
 *                    224.0.0.18 from SRC: one wake-up, two system calls a second
 *   floor recv SRC   joins 224.0.0.18 on SRC's interface and reads protocol
 *                    112 datagrams with a blocking recv(2): one wake-up, one
 *                    system call per datagram
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: floor send|recv SRC\n");
		return 2;
	}
	struct in_addr src, grp;
	if (inet_pton(AF_INET, argv[2], &src) != 1 || inet_pton(AF_INET, "224.0.0.18", &grp) != 1) {
		fprintf(stderr, "floor: bad address %s\n", argv[2]);
		return 2;
	}
	int s = socket(AF_INET, SOCK_RAW, 112);
	if (s < 0) {
		perror("floor: socket");
		return 1;
	}
	if (strcmp(argv[1], "recv") == 0) {
		struct ip_mreq m = {.imr_multiaddr = grp, .imr_interface = src};
		if (setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0) {
			perror("floor: IP_ADD_MEMBERSHIP");
			return 1;
		}
		char buf[2048];
		for (;;)
			if (recv(s, buf, sizeof buf, 0) < 0)
				perror("floor: recv");
	}
	int ttl = 255, loop = 0;
	if (setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &src, sizeof src) < 0 ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0) {
		perror("floor: setsockopt");
		return 1;
	}
	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	if (t < 0 || timerfd_settime(t, 0, &its, NULL) < 0) {
		perror("floor: timerfd");
		return 1;
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = grp};
	char advert[36] = {0};
	for (;;) {
		uint64_t n;
		if (read(t, &n, sizeof n) < 0)
			perror("floor: read");
		if (sendto(s, advert, sizeof advert, 0, (struct sockaddr *)&to, sizeof to) < 0)
			perror("floor: sendto");
	}
}
