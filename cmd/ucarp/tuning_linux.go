package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setRealtime puts every thread of the process not in seen under SCHED_RR
// at prio, with SCHED_RESET_ON_FORK; seen becomes the threads there are.
//
// The whole process, not one thread: the advert's path is the timer's
// wake-up, the group's loop and the send, which the Go scheduler runs on
// whichever thread holds the P, and the runtime's own threads (sysmon, the
// GC) decide how soon that is. keepalived's vrrp_rt_priority sets its
// process too. SCHED_RESET_ON_FORK keeps the scripts and probes the daemon
// runs out of the realtime class; it also means a thread the runtime
// starts later begins as SCHED_OTHER, hence the sweep (applyTuning).
func setRealtime(prio int, seen map[int]bool) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	now := map[int]bool{}
	defer func() {
		clear(seen) // an ended thread's id may come back as a new thread's
		for tid := range now {
			seen[tid] = true
		}
	}()
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if seen[tid] {
			now[tid] = true
			continue
		}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
			if errors.Is(err, unix.ESRCH) { // the thread has ended
				continue
			}
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("%w: SCHED_RR priority %d needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d (systemd: RestrictRealtime=no, and CAP_SYS_NICE in CapabilityBoundingSet and AmbientCapabilities, or LimitRTPRIO=%d): %v", errRefused, prio, prio, prio, err)
			}
			return fmt.Errorf("SCHED_RR priority %d: %v", prio, err)
		}
		now[tid] = true
	}
	return nil
}

// lockMemory locks the process's pages in RAM, now and later
// (mlockall(MCL_CURRENT|MCL_FUTURE), as keepalived's vrrp_no_swap), on
// fault where the kernel can (MCL_ONFAULT, Linux 4.4): the Go runtime
// maps its heap in large reservations, which MCL_FUTURE alone would fill.
func lockMemory() error {
	err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT)
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE)
	}
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("%w: mlockall needs CAP_IPC_LOCK or an unlimited RLIMIT_MEMLOCK, which counts the runtime's reserved address space (systemd: CAP_IPC_LOCK in CapabilityBoundingSet and AmbientCapabilities, or LimitMEMLOCK=infinity): %v", errRefused, err)
	case err != nil:
		return fmt.Errorf("mlockall: %v", err)
	}
	return nil
}
