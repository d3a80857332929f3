package codec

import (
	"github.com/bytedance/sonic"
)

// Message is one comment. Its stored form (what ingest appends to the
// stream) is the JSON of a Message without ID; the stream assigns the ID,
// and AppendBatch splices it in front of the stored object.
type Message struct {
	ID    string `json:"id,omitempty"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	TS    int64  `json:"ts"`
}

// JSON is the sonic configuration used for everything danmu decodes or
// encodes: strict about UTF-8 so that no invalid byte sequence ever reaches
// a viewer (see PITFALLS.md, sonic).
var JSON = sonic.Config{
	EscapeHTML:              false,
	SortMapKeys:             false,
	ValidateString:          true,
	NoValidateJSONMarshaler: false,
}.Froze()

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
