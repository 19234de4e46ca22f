// Command scalebench measures config mode at scale in the namespace lab
// (issue 13, "Scale and speed"): two hosts, each one ucarp --config
// process running N groups (1, 16, 256; 256 as vhid 1-128 on each of two
// interfaces), half preferring each host, advbase 1. For each N it reports
// each process's CPU and RSS over a fixed window and the jitter of the
// advert intervals on the wire; on the largest N it reloads a file that
// changes one group's advskew and counts, on the wire and in the logs,
// what moved in the others. It writes docs/SCALE.md: make bench-scale
// runs it as root. It is a benchmark, not a test: it judges nothing.
package main
