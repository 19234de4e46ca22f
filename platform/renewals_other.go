//go:build !linux

package platform

// Renewals sends the address renewals of the interfaces that share it
// (Renewer.ShareRenewals); no system here renews through a goroutine of
// its own, so it holds nothing.
type Renewals struct{}
