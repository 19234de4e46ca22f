// Package carptest runs CARP state machines over a simulated LAN with a
// simulated clock, so that whole-cluster behaviour (convergence, takeover
// times, preemption, partitions) is tested in microseconds of real time
// and exactly to the microsecond of simulated time.
//
// Adverts travel as real encoded packets: each node signs and encodes
// what its machine asks to send, and each receiver runs carp.Validator on
// the bytes before its machine sees them.
package carptest
