package node

import (
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/group"
)

func TestWireAuth(t *testing.T) {
	if wireAuth(group.AuthStatus{Mode: "off", KeyID: -1}) != nil {
		t.Fatal("plain CARP has an auth section")
	}
	a := group.AuthStatus{Mode: "receive-only", KeyID: -1, KeyIDs: []uint8{1}, Window: 10 * time.Second,
		Accepted: map[string]uint64{"verified": 3, "absent": 9, "bad-mac": 2}, Dropped: map[string]uint64{}}
	w := wireAuth(a)
	if w == nil || w.Mode != "receive-only" || w.SendKey != nil || w.ReplayWindow != 10 || w.Accepted["bad-mac"] != 2 {
		t.Fatalf("%+v", w)
	}
	if got := authText(a); !strings.Contains(got, "receive-only mode") || !strings.Contains(got, "2 accepted that enforce would drop") {
		t.Fatalf("%q", got)
	}
	a.Mode, a.KeyID, a.Dropped = "enforce", 1, map[string]uint64{"replay": 5}
	if w := wireAuth(a); w.SendKey == nil || *w.SendKey != 1 {
		t.Fatalf("%+v", w)
	}
	if got := authText(a); !strings.Contains(got, "5 dropped") {
		t.Fatalf("%q", got)
	}
}
