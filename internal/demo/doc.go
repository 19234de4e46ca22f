// Command demo shows a VIP failing over and coming back between two hosts
// in network namespaces, with the times it measures: make demo runs it as
// root. It needs Linux.
package main
