package platform

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"

	"github.com/mdlayher/ethernet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// bpfConn reads and writes whole Ethernet frames on one interface through
// bpf(4): FreeBSD's way to send IP packets in Ethernet broadcasts
// (ucarp's --nomcast) and gratuitous ARP. The header is "complete": the
// frames carry the NIC's own MAC, which this code writes. Only frames
// coming in are read. wbuf holds the broadcast Ethernet header, built
// once, then the packet being sent.
type bpfConn struct {
	f       *os.File
	buf     []byte
	pending [][]byte
	wbuf    []byte
}

const bpfDirectionIn = 0 // BPF_D_IN

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

func openBPF(ifi *net.Interface, filter []bpf.Instruction) (*bpfConn, error) {
	raw, err := bpf.Assemble(filter)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open("/dev/bpf", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("platform: /dev/bpf: %w", err)
	}
	fail := func(what string, err error) (*bpfConn, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("platform: bpf %s on %s: %w", what, ifi.Name, err)
	}
	var ifreq [32]byte // struct ifreq: the name, then a union
	copy(ifreq[:unix.IFNAMSIZ-1], ifi.Name)
	if err := ioctlPtr(fd, unix.BIOCSETIF, unsafe.Pointer(&ifreq)); err != nil {
		return fail("BIOCSETIF", err)
	}
	for _, o := range []struct {
		name string
		req  uint
		val  int
	}{{"BIOCIMMEDIATE", unix.BIOCIMMEDIATE, 1}, {"BIOCSHDRCMPLT", unix.BIOCSHDRCMPLT, 1}, {"BIOCSDIRECTION", unix.BIOCSDIRECTION, bpfDirectionIn}} {
		if err := unix.IoctlSetPointerInt(fd, o.req, o.val); err != nil {
			return fail(o.name, err)
		}
	}
	insns := make([]unix.BpfInsn, len(raw))
	for i, r := range raw {
		insns[i] = unix.BpfInsn{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.BpfProgram{Len: uint32(len(insns)), Insns: &insns[0]}
	if err := ioctlPtr(fd, unix.BIOCSETF, unsafe.Pointer(&prog)); err != nil {
		return fail("BIOCSETF", err)
	}
	size, err := unix.IoctlGetInt(fd, unix.BIOCGBLEN)
	if err != nil {
		return fail("BIOCGBLEN", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail("O_NONBLOCK", err)
	}
	hdr := etherHeader(ethernet.Broadcast, ifi.HardwareAddr, ethernet.EtherTypeIPv4)
	return &bpfConn{f: os.NewFile(uintptr(fd), "bpf"), buf: make([]byte, size), wbuf: append(make([]byte, 0, 1514), hdr...)}, nil
}

// ReadPacket implements IPConn: the IPv4 packet of the next frame.
func (c *bpfConn) ReadPacket(b []byte) (int, error) {
	for {
		for len(c.pending) > 0 {
			frame := c.pending[0]
			c.pending = c.pending[1:]
			if len(frame) > ethLen && frame[12] == 0x08 && frame[13] == 0x00 {
				return copy(b, frame[ethLen:]), nil
			}
		}
		n, err := c.f.Read(c.buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return 0, net.ErrClosed
			}
			return 0, err
		}
		c.pending, _ = bpfRecords(c.buf[:n])
	}
}

// WritePacket implements IPConn: the packet to the Ethernet broadcast
// address, from the NIC's MAC, as ucarp does for --nomcast.
func (c *bpfConn) WritePacket(pkt []byte) error {
	c.wbuf = append(c.wbuf[:ethLen], pkt...)
	_, err := c.f.Write(c.wbuf)
	return err
}

// WriteFrame implements FrameConn.
func (c *bpfConn) WriteFrame(frame []byte) error {
	_, err := c.f.Write(frame)
	return err
}

func (c *bpfConn) Close() error { return c.f.Close() }

// ipProtoFilter accepts the IPv4 frames of protocol proto.
func ipProtoFilter(proto uint8) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ethernet.EtherTypeIPv4), SkipFalse: 3},
		bpf.LoadAbsolute{Off: ipProtoByte, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(proto), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	}
}

// noFrames accepts nothing: for a device that only writes.
var noFrames = []bpf.Instruction{bpf.RetConstant{Val: 0}}
