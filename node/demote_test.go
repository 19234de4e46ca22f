package node

import (
	"fmt"
	"testing"

	"github.com/ucarp-go/ucarp/group"
)

// TestCompute: each member of a sync group is demoted to the highest
// failure of the others, less its own demotion; the member with the
// highest failure gets the second highest; other processes' levels count;
// a member of no sync group gets nothing.
func TestCompute(t *testing.T) {
	type mem struct {
		sync string
		own  int
		down bool
	}
	for _, tc := range []struct {
		name   string
		mems   []mem
		remote map[string]int
		want   []int
	}{
		{"nothing failed", []mem{{"s", 0, false}, {"s", 0, false}}, nil, []int{0, 0}},
		{"a carrier lost", []mem{{"s", 0, true}, {"s", 0, false}, {"s", 30, false}}, nil, []int{30, 255, 225}},
		{"two demoted", []mem{{"s", 50, false}, {"s", 200, false}, {"s", 0, false}}, nil, []int{150, 0, 200}},
		{"equal failures", []mem{{"s", 80, false}, {"s", 80, false}}, nil, []int{0, 0}},
		{"alone", []mem{{"s", 80, false}}, nil, []int{0}},
		{"two sync groups", []mem{{"a", 90, false}, {"a", 0, false}, {"b", 0, false}, {"", 0, false}}, nil, []int{0, 90, 0, 0}},
		{"another process", []mem{{"a", 10, false}, {"a", 0, false}, {"", 0, false}}, map[string]int{"a": 70, "": 255}, []int{60, 70, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d demoter
			d.init()
			gs := make([]*group.Group, len(tc.mems))
			for i, m := range tc.mems {
				gs[i] = new(group.Group)
				d.members[gs[i]] = &demoted{syncGroup: m.sync, own: map[string]int{"admin": m.own}, down: m.down}
			}
			for k, v := range tc.remote {
				d.remote[k] = v
			}
			d.compute()
			for i, g := range gs {
				if got := d.members[g].applied; got != tc.want[i] {
					t.Errorf("member %d: sync %d, want %d", i, got, tc.want[i])
				}
			}
			if again := d.compute(); len(again) != 0 {
				t.Errorf("a second compute changes %d members", len(again))
			}
		})
	}
}

// BenchmarkCompute: the sync demotions of n groups in one sync group,
// computed again after one member's change.
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var d demoter
			d.init()
			var first *demoted
			for i := 0; i < n; i++ {
				m := &demoted{syncGroup: "s", own: map[string]int{}}
				d.members[new(group.Group)] = m
				if first == nil {
					first = m
				}
			}
			for i := 0; b.Loop(); i++ {
				first.down = i%2 == 0
				d.compute()
			}
		})
	}
}
