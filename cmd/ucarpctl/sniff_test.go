package main

import "testing"

func TestAdvertID(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		id   uint8
		ok   bool
	}{
		// ucarp's advert (version 2, type 1, vhid 7, advskew 0, 7 address
		// bytes... cut to what is read).
		{"CARP", []byte{0x21, 7, 0, 7, 0, 1, 0xab, 0xcd}, 7, true},
		{"VRRPv3", []byte{0x31, 42, 100, 1, 0, 100, 0x12, 0x34}, 42, true},
		{"VRRPv2", []byte{0x21, 9, 100, 1, 0, 1, 0x12, 0x34}, 9, true},
		{"version 4", []byte{0x41, 7, 0, 0, 0, 0, 0, 0}, 0, false},
		{"not an advertisement", []byte{0x22, 7, 0, 0, 0, 0, 0, 0}, 0, false},
		{"short", []byte{0x21, 7}, 0, false},
	} {
		id, ok := advertID(tc.b)
		if id != tc.id || ok != tc.ok {
			t.Errorf("%s: got %d %v, want %d %v", tc.name, id, ok, tc.id, tc.ok)
		}
	}
}
