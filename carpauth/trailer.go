package carpauth

import (
	"encoding/binary"
	"errors"
	"io"
)

// Wire constants of the trailer.
const (
	// TrailerLen is the length of a version-1 trailer: 16 bytes of header
	// and the 32-byte HMAC-SHA256.
	TrailerLen = 48
	// TrailerVersion is the only trailer version this package writes and
	// reads.
	TrailerVersion = 1
	// MACLen is the length of the HMAC-SHA256 tag.
	MACLen = 32
	// signedLen is the part of the trailer that precedes the tag, which
	// the tag covers.
	signedLen = TrailerLen - MACLen
	// trailerWords is TrailerLen in 32-bit words, as carried at offset 5.
	trailerWords = TrailerLen / 4
)

// Magic is the first four bytes of a trailer, "UCGA" (ucarp-go auth). A
// payload whose bytes after the 36 CARP bytes do not start with it has no
// extension: those bytes are ignored, as ucarp and the BSD kernels ignore
// them.
var Magic = [4]byte{'U', 'C', 'G', 'A'}

// Errors of UnmarshalBinary, for bytes that start with Magic but are no
// valid trailer. Check turns them into ResultMalformed and
// ResultBadVersion.
var (
	ErrVersion = errors.New("carpauth: unknown trailer version")
	ErrLength  = errors.New("carpauth: bad trailer length")
	errMagic   = errors.New("carpauth: no trailer magic")
)

// Trailer is the extension that follows the 36-byte CARP header of an
// advert sent with --auth=hmac-sha256. See the package documentation for
// its bytes.
type Trailer struct {
	Version  uint8 // TrailerVersion
	KeyID    uint8 // the id of the key that made MAC
	Reserved uint8 // sent as 0, covered by MAC, not interpreted
	Seq      uint64
	MAC      [MACLen]byte
}

// MarshalBinary encodes t into TrailerLen bytes.
func (t *Trailer) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, TrailerLen))
}

// AppendBinary appends the TrailerLen-byte encoding of t to b. The length
// byte is always written as TrailerLen/4, whatever the version.
func (t *Trailer) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, Magic[:]...)
	b = append(b, t.Version, trailerWords, t.KeyID, t.Reserved)
	b = binary.BigEndian.AppendUint64(b, t.Seq)
	return append(b, t.MAC[:]...), nil
}

// UnmarshalBinary decodes a trailer from b, which must hold exactly the
// bytes after the CARP header (the IP payload cut to the IP length, less
// 36 bytes). Short input is io.ErrUnexpectedEOF; a version other than
// TrailerVersion is ErrVersion; a length byte other than 12, or bytes
// beyond it, is ErrLength.
func (t *Trailer) UnmarshalBinary(b []byte) error {
	if len(b) < 6 {
		return io.ErrUnexpectedEOF
	}
	if [4]byte(b[:4]) != Magic {
		return errMagic
	}
	if b[4] != TrailerVersion {
		return ErrVersion
	}
	if b[5] != trailerWords {
		return ErrLength
	}
	if len(b) < TrailerLen {
		return io.ErrUnexpectedEOF
	}
	if len(b) > TrailerLen {
		return ErrLength
	}
	t.Version = b[4]
	t.KeyID = b[6]
	t.Reserved = b[7]
	t.Seq = binary.BigEndian.Uint64(b[8:16])
	copy(t.MAC[:], b[signedLen:TrailerLen])
	return nil
}

// HasTrailer reports whether rest, the bytes after the 36 CARP bytes,
// claims to be a trailer: it starts with Magic. Anything else (nothing,
// or bytes that some stack added) means a plain advert.
func HasTrailer(rest []byte) bool {
	return len(rest) >= len(Magic) && [4]byte(rest[:4]) == Magic
}
