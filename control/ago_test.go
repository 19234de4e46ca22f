package control

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "just now"},
		{0, "0s ago"},
		{59 * time.Second, "59s ago"},
		{61 * time.Second, "1m01s ago"},
		{2*time.Hour + 5*time.Minute, "2h05m ago"},
		{47 * time.Hour, "47h00m ago"},
		{50 * time.Hour, "2d02h ago"},
	} {
		if got := ago(now, now.Add(-tt.d)); got != tt.want {
			t.Errorf("ago(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := ago(now, time.Time{}); got != "never" {
		t.Errorf("ago(zero) = %q", got)
	}
}
