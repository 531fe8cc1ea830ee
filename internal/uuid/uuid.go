// Package uuid makes random (version 4) UUIDs in their canonical form, for
// States.UUID and the Step Functions API's execution ids and request ids.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random version 4 UUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx.
func New() string {
	var out [36]byte
	return string(Append(out[:0]))
}

// Append appends a random version 4 UUID (36 bytes) to b.
func Append(b []byte) []byte {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	hex.Encode(out[9:13], u[4:6])
	hex.Encode(out[14:18], u[6:8])
	hex.Encode(out[19:23], u[8:10])
	hex.Encode(out[24:], u[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return append(b, out[:]...)
}
