package codec

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrInvalidControl reports a control record that cannot be decoded.
var ErrInvalidControl = errors.New("codec: invalid control record")

// A room's stream holds stored messages and control records. A control
// record is a JSON object whose first key is "op":
//
//	{"op":"delete","id":"<id of the deleted message>"}
//
// No stored record starts that way (a record opens with its version
// byte, and a legacy one with a Message's key, which has no "op" field),
// so readers tell them apart by the prefix.
const (
	OpDelete      = "delete"
	controlPrefix = `{"op":`
)

// Control is a decoded control record.
type Control struct {
	Op string `json:"op"`
	ID string `json:"id"`
}

// EncodeDelete returns the control record that deletes message id.
func EncodeDelete(id string) ([]byte, error) {
	if _, err := ParseID(id); err != nil {
		return nil, fmt.Errorf("%w: bad id %s", ErrInvalidControl, quoteShort(id))
	}
	return JSON.Marshal(&Control{Op: OpDelete, ID: id})
}

// IsControl reports whether a stream entry is a control record.
func IsControl(data []byte) bool { return bytes.HasPrefix(data, []byte(controlPrefix)) }

// ParseControl decodes a control record and checks it.
func ParseControl(data []byte) (Control, error) {
	var c Control
	if err := JSON.Unmarshal(data, &c); err != nil {
		return Control{}, fmt.Errorf("%w: %w", ErrInvalidControl, err)
	}
	if _, err := ParseID(c.ID); c.Op != OpDelete || err != nil {
		return Control{}, fmt.Errorf("%w: op %s id %s", ErrInvalidControl, quoteShort(c.Op), quoteShort(c.ID))
	}
	return c, nil
}
