package codec

import (
	"github.com/bytedance/sonic"
)

// Message is one comment. Its stored form (what ingest appends to the
// stream) is the JSON of a Message without ID; the stream assigns the ID,
// and AppendBatch splices it in front of the stored object.
type Message struct {
	ID string `json:"id,omitempty"`
	// Prio above zero marks an admin, system or paid message: delivered
	// first in its batch and never dropped by the per-frame cap. It comes
	// first in the stored form so fan-out can see it without decoding.
	Prio int `json:"prio,omitempty"`
	// CID is the client's own id for the comment: a client that retries
	// a POST after an ambiguous failure sends the same CID, and readers
	// show only the first stored copy of the author's (UID's) post with
	// that CID (see RetryKey). CID and UID follow Prio in the stored
	// form, again for fan-out.
	CID   string `json:"cid,omitempty"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	TS    int64  `json:"ts"`
}

// JSON is the sonic configuration used for everything danmu decodes or
// encodes. ValidateString rejects raw control characters in strings, but
// sonic replaces invalid UTF-8 with U+FFFD rather than failing: callers
// check utf8.Valid on input first. Unmarshal copies its input, so
// decoded strings never alias a reused buffer
// (TestDecodeClientMessageCopies).
var JSON = sonic.Config{ValidateString: true}.Froze()

// EncodeStored returns the stored form of m (ID left out).
func EncodeStored(m Message) ([]byte, error) {
	m.ID = ""
	return JSON.Marshal(&m)
}

// DecodeStored decodes a stored message. The ID is not part of the stored
// form and is left empty.
func DecodeStored(data []byte) (Message, error) {
	var m Message
	err := JSON.Unmarshal(data, &m)
	return m, err
}
