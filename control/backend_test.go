package control_test

import (
	"testing"

	"github.com/ucarp-go/ucarp/control"
)

func TestBroadcaster(t *testing.T) {
	var b control.Broadcaster
	b.Buffer = 2
	fast, cancelFast := b.Subscribe()
	slow, cancelSlow := b.Subscribe()
	defer cancelSlow()
	for i := range 3 {
		b.Publish(control.Event{Message: string(rune('a' + i))})
		if ev := <-fast; ev.Message != string(rune('a'+i)) {
			t.Fatalf("fast subscriber got %q", ev.Message)
		}
	}
	// slow read nothing: two events buffered, then dropped.
	for _, want := range []string{"a", "b"} {
		if ev, ok := <-slow; !ok || ev.Message != want {
			t.Fatalf("slow subscriber got %q, %v; want %q", ev.Message, ok, want)
		}
	}
	if _, ok := <-slow; ok {
		t.Fatal("a subscriber that fell behind is kept")
	}
	cancelSlow() // after the drop: no double close

	cancelFast()
	cancelFast()
	if _, ok := <-fast; ok {
		t.Fatal("cancel leaves the channel open")
	}
	b.Publish(control.Event{}) // nobody left: nothing blocks

	late, cancelLate := b.Subscribe()
	b.Close()
	if _, ok := <-late; ok {
		t.Fatal("Close leaves a subscription open")
	}
	cancelLate() // after Close: no double close
}

func TestBroadcasterDefaultBuffer(t *testing.T) {
	var b control.Broadcaster
	ch, cancel := b.Subscribe()
	defer cancel()
	for range control.DefaultEventBuffer {
		b.Publish(control.Event{})
	}
	if len(ch) != control.DefaultEventBuffer {
		t.Fatalf("buffered %d, want %d", len(ch), control.DefaultEventBuffer)
	}
}
