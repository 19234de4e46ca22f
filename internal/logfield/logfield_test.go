package logfield

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMessageIDs: every kind has a MESSAGE_ID of 128 bits, written as
// journald writes them (32 lowercase hex digits), and no two share one.
func TestMessageIDs(t *testing.T) {
	seen := map[string]Event{}
	for _, e := range Events() {
		id := e.MessageID()
		b, err := hex.DecodeString(id)
		if err != nil || len(b) != 16 || hex.EncodeToString(b) != id {
			t.Errorf("%s: MESSAGE_ID %q is not 32 lowercase hex digits", e, id)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share MESSAGE_ID %s", e, other, id)
		}
		seen[id] = e
	}
	if len(seen) != len(messageIDs) {
		t.Errorf("Events lists %d kinds, messageIDs has %d", len(seen), len(messageIDs))
	}
	if Event("nonsense").MessageID() != "" {
		t.Error("an unknown kind has a MESSAGE_ID")
	}
}

func TestFieldOnly(t *testing.T) {
	for key, want := range map[string]bool{KeyEvent: true, KeyGroup: true, KeyState: true, KeyReason: true,
		KeyInterface: false, KeyVHID: false, "other": false} {
		if got := FieldOnly(key); got != want {
			t.Errorf("FieldOnly(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestManPageListsMessageIDs: ucarp(8) lists every MESSAGE_ID, since
// admins write them into journalctl filters from there.
func TestManPageListsMessageIDs(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "packaging", "ucarp.8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Events() {
		if !strings.Contains(string(page), e.MessageID()) {
			t.Errorf("ucarp.8 does not list %s's MESSAGE_ID %s", e, e.MessageID())
		}
	}
}
