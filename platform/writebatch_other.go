//go:build !linux

package platform

// WriteBatches gathers the writes of a wake-up to the sockets that share
// it (Batcher.ShareBatches); no socket here batches its writes, so it
// holds nothing.
type WriteBatches struct{}
