package ingest

import (
	"slices"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

// sonicCommentBody is the struct sonic decoded a posted comment into before
// decodeComment read the JSON by hand: with sonicDecodeComment, the oracle
// of TestDecodeCommentSonic and FuzzDecodeCommentSonic.
type sonicCommentBody struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	Name  string `json:"name"`
	UID   string `json:"uid"`
	Prio  int    `json:"prio"`
	CID   string `json:"cid"`
}

// sonicDecodeComment is decodeComment as it was with sonic.
func sonicDecodeComment(body []byte, cfg *Config, errs *limitErrors) (codec.Message, *Error) {
	if len(body) > cfg.MaxBodyBytes {
		return codec.Message{}, errs.bodyTooLarge
	}
	if !isJSONObject(body) {
		return codec.Message{}, errInvalidJSON
	}
	var in sonicCommentBody
	if err := codec.JSON.Unmarshal(body, &in); err != nil {
		return codec.Message{}, errInvalidJSON
	}
	msg := codec.Message{
		UID: DefaultUID, Name: DefaultName, Text: in.Text, Color: codec.DefaultColor, Mode: codec.ModeScroll,
		CID: in.CID, Prio: in.Prio,
	}
	if in.Color != "" {
		msg.Color = in.Color
	}
	if in.Mode != "" {
		msg.Mode = in.Mode
	}
	if in.Name != "" && cfg.Auth == nil {
		msg.Name = in.Name
	}
	if in.UID != "" && cfg.Auth == nil {
		msg.UID = in.UID
	}
	if err := msg.Check(cfg.limits(&msg)); err != nil {
		return codec.Message{}, errs.invalidComment(err)
	}
	return msg, nil
}

// sonicConfigs are the configurations the hand-written decoder is checked
// against sonic with: the default, one whose body limit lets values nest
// as deep as sonic allows and beyond, and one with tokens, where the
// body's uid and name are ignored.
func sonicConfigs() map[string]*Config {
	open, _ := defaultConfig()
	large := *open
	large.MaxBodyBytes = 1 << 20
	tokens := *open
	tokens.Auth = new(auth.Verifier)
	return map[string]*Config{"default": open, "large": &large, "tokens": &tokens}
}

// checkDecodeLikeSonic checks that decodeComment gives what sonic gave for
// body: the same Message, or the same error code.
func checkDecodeLikeSonic(t *testing.T, name string, cfg *Config, body []byte) {
	t.Helper()
	errs := newLimitErrors(cfg)
	want, wantErr := sonicDecodeComment(body, cfg, &errs)
	got, gotErr := decodeComment(body, cfg, &errs)
	if got != want || gotErr != wantErr {
		t.Fatalf("%s: decodeComment(%q) = %+v, %v; sonic gave %+v, %v", name, body, got, gotErr, want, wantErr)
	}
}

// sonicSeeds are bodies where a hand-written JSON reader might part from
// sonic: escapes and surrogates, keys in other cases and escaped, values
// of the wrong type, null, duplicate keys, numbers for prio, skipped values
// of every kind, invalid JSON anywhere, the whitespace JSON allows and
// what it does not.
var sonicSeeds = []string{
	`{"text":"hi"}`, benchBody, ` {"text" : "hi"} `, "\r\n\t{\"text\":\"hi\"}\r\n\t", `{}`, `{ }`, `{"text":""}`,
	`{"text":"\u00e9\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"}`, `{"text":"\ud800"}`, `{"text":"\udc00"}`,
	`{"text":"\ud800\udc00"}`, `{"text":"\ud800\ud800\udc00"}`, `{"text":"\ud800x"}`, `{"text":"\ud800\u0041"}`,
	`{"text":"\ud800\\"}`, `{"text":"\udc00\ud800"}`, `{"text":"\uD83D\uDE00"}`, `{"text":"\udbff\udfff"}`,
	`{"text":"\u0000"}`, `{"text":"\uFFFD"}`, `{"text":"a\u2028b"}`, "{\"text\":\"a\u2028b\"}", "{\"text\":\"a\x7fb\"}",
	`{"text":"\u00zz"}`, `{"text":"\x"}`, `{"text":"\'"}`, `{"text":"\u00"}`, `{"text":"\`, `{"text":"a`,
	"{\"text\":\"tab\there\"}", "{\"text\":\"nul\x00\"}", `{"text":"x","text":"y"}`, `{"text":"x","text":null}`,
	`{"text":"x","text":1}`, `{"text":"x","color":null,"mode":null}`, `{"text":null}`, `{"text":["a"]}`,
	`{"text":{}}`, `{"text":true}`, `{"text":"a","uid":5}`, `{"TEXT":"hi","Color":"#000000","MODE":"top"}`,
	`{"t\u0065xt":"hi"}`, `{"T\u0045XT":"hi"}`, `{"text":"hi","u\u0130d":"abc"}`, "{\"text\":\"hi\",\"u\u0130d\":\"abc\"}",
	"{\"text\":\"hi\",\"pr\u0130o\":3}", `{"text":"hi","":"abc"}`, `{"text":"hi","texts":"x","tex":"y"}`,
	"{\"text\":\"hi\",\"\u212aey\":1}", `{"text":"hi","uid":"a.b:c_d-e","name":"N","color":"#A1b2C3","mode":"bottom","cid":"c-1"}`,
	`{"text":"hi","mode":"Scroll"}`, `{"text":"hi","mode":"\u0074op"}`, `{"text":"hi","mode":""}`, `{"text":"hi","color":""}`,
	`{"text":"hi","name":"","uid":""}`, `{"text":"hi","name":"\t"}`, `{"text":"hi","cid":"a b"}`,
	`{"text":"hi","prio":1}`, `{"text":"hi","prio":-1}`, `{"text":"hi","prio":0}`, `{"text":"hi","prio":-0}`,
	`{"text":"hi","prio":1.0}`, `{"text":"hi","prio":1e2}`, `{"text":"hi","prio":1E0}`, `{"text":"hi","prio":-0.0}`,
	`{"text":"hi","prio":0.5}`, `{"text":"hi","prio":1e-2}`, `{"text":"hi","prio":"1"}`, `{"text":"hi","prio":true}`,
	`{"text":"hi","prio":null}`, `{"text":"hi","prio":01}`, `{"text":"hi","prio":1.}`, `{"text":"hi","prio":-}`,
	`{"text":"hi","prio":2,"prio":null}`, `{"text":"hi","prio":5,"prio":"x"}`, `{"text":"hi","prio":[]}`,
	`{"text":"hi","prio":9223372036854775807}`, `{"text":"hi","prio":9223372036854775808}`,
	`{"text":"hi","prio":-9223372036854775808}`, `{"text":"hi","prio":-9223372036854775809}`,
	`{"text":"hi","prio":100000000000000000000000}`, `{"text":"hi","prio": 7 }`, `{"text":"hi","prio":7x}`,
	`{"x":"\q","text":"hi"}`, "{\"x\":\"a\tb\",\"text\":\"hi\"}", "{\"x\\t\":1,\"text\":\"hi\"}", "{\"x\t\":1,\"text\":\"hi\"}",
	`{"x":"\u12g4","text":"hi"}`, `{"x\q":1,"text":"hi"}`, `{"x":01,"text":"hi"}`, `{"x":1.,"text":"hi"}`,
	`{"x":-,"text":"hi"}`, `{"x":1e,"text":"hi"}`, `{"x":+1,"text":"hi"}`, `{"x":.5,"text":"hi"}`, `{"x":1e999,"text":"hi"}`,
	`{"x":-1.5e+10,"text":"hi"}`, `{"x":-01,"text":"hi"}`, `{"x":1.5E,"text":"hi"}`, `{"x":0e-0,"text":"hi"}`,
	`{"x":tru,"text":"hi"}`, `{"x":nul,"text":"hi"}`, `{"x":truex,"text":"hi"}`, `{"x":true1,"text":"hi"}`,
	`{"x":1x,"text":"hi"}`, `{"x":nullx,"text":"hi"}`, `{"x":NaN,"text":"hi"}`, `{"x":false,"y":null,"z":true,"text":"hi"}`,
	`{"x":[1,],"text":"hi"}`, `{"x":{"a":1,},"text":"hi"}`, `{"x":{"a"},"text":"hi"}`, `{"x":[1 2],"text":"hi"}`,
	`{"x":[,1],"text":"hi"}`, `{"x":{,"a":1},"text":"hi"}`, `{"x":{"a":1 "b":2},"text":"hi"}`, `{"x":{1:2},"text":"hi"}`,
	`{"x":[1,{"a":[null,{"b":"\u0000"}]}],"text":"hi"}`, `{"text":"hi", "x" : [ ] , "y":{ } }`, `{"x":[[]],"text":"hi"}`,
	`{"x":"\ud800","text":"hi"}`, `{"text":"hi","x":"\"}`, `{"x":[}`, `{"x":{]`, `{"x":]`, `{"x"`, `{"x":`, `{"x":1`,
	`{"text":"hi",}`, `{,"text":"hi"}`, `{"text":"hi"`, `{"text" "hi"}`, `{"text":"hi"}}`, `{"text":"hi"} x`,
	`{"text":"hi"} {}`, "{\"text\":\"hi\"}\f", "\f{\"text\":\"hi\"}", "{\"text\":\"hi\"}\x00", "\v{\"text\":\"hi\"}",
	"\ufeff{\"text\":\"hi\"}", "{\"text\":\"h\xffi\"}", "{\"text\":\"\xe2\x82\"}", "{\"text\":\"a\"}\xff", `{'text':'hi'}`,
	`{text:"hi"}`, "", "{", "}", `"text"`, `null`, ` [1]`, `[]`, `1`, `{"text":"` + strings.Repeat("é", 100) + `"}`,
	`{"text":"` + strings.Repeat("é", 101) + `"}`, `{"text":"a","pad":"` + strings.Repeat("x", 4096) + `"}`,
}

// blockSeeds are bodies where sonic checks the escapes of a skipped
// string or not, by where the string lies from the end of the body
// (skipString): invalid escapes and control characters before, across and
// after the 64- and 32-byte blocks it reads at once, in values, in keys
// and in nested values, and the byte after a backslash that ends the
// blocks. Known keys and their values are checked wherever they lie.
func blockSeeds() []string {
	var bodies []string
	tail := `,"text":"hi"}`
	for _, n := range []int{0, 1, 29, 30, 31, 32, 33, 61, 62, 63, 64, 65, 95, 96, 97, 200} {
		a := strings.Repeat("a", n)
		for _, bad := range []string{`\q`, `\u00G1`, `\u12`, "\\\t", "\t", `\\`, `\"`, `\ud800`} {
			for _, pad := range []string{"", strings.Repeat(" ", 40), strings.Repeat(" ", 100)} {
				bodies = append(bodies,
					`{"x":"`+a+bad+`"`+tail+pad,
					`{"x":"`+bad+a+`"`+tail+pad,
					`{"x":["`+a+bad+`"]`+tail+pad,
					`{"x":{"`+a+bad+`":1}`+tail+pad,
					`{"x`+a+bad+`":1`+tail+pad,
					`{"text":"`+a+bad+`"}`+pad)
			}
		}
	}
	return bodies
}

// deepValues are values whose containers nest as deep as sonic allows
// skipping (maxSkipDepth), one less and one more, arrays and objects,
// holding nothing, a scalar, two or another container at the bottom.
func deepValues() []string {
	closeOf := map[string]string{"[": "]", `{"a":`: "}"}
	var values []string
	for _, depth := range []int{maxSkipDepth - 1, maxSkipDepth, maxSkipDepth + 1} {
		for _, v := range []struct{ open, inner string }{
			{"[", ""}, {"[", "1"}, {"[", "1,2"}, {"[", "[]"}, {"[", "{}"}, {"[", `{"b":1}`},
			{`{"a":`, "1"}, {`{"a":`, "{}"}, {`{"a":`, "[]"}, {`{"a":`, "[1,2]"}, {`{"a":`, `{"b":1}`},
		} {
			values = append(values, strings.Repeat(v.open, depth)+v.inner+strings.Repeat(closeOf[v.open], depth))
		}
	}
	return values
}

// TestDecodeCommentSonic checks decodeComment against the sonic decoder it
// replaced on the bodies where the two might part, in each configuration,
// among them unknown keys' values nested as deep as sonic allows skipping
// and one more (deepValues), and strings sonic reads in blocks
// (blockSeeds).
func TestDecodeCommentSonic(t *testing.T) {
	bodies := append(slices.Clone(sonicSeeds), blockSeeds()...)
	for _, v := range deepValues() {
		bodies = append(bodies, `{"text":"hi","x":`+v+`}`, `{"text":"hi","x":`+v+`} `)
	}
	checkAllLikeSonic(t, sonicConfigs(), bodies, checkDecodeLikeSonic)
}

// FuzzDecodeCommentSonic checks decodeComment against the sonic decoder it
// replaced: for every body, in each configuration, the same Message or the
// same error code.
func FuzzDecodeCommentSonic(f *testing.F) {
	fuzzLikeSonic(f, sonicConfigs(), sonicSeeds, checkDecodeLikeSonic)
}

// sonicCheck checks what a hand-written reader gives for body in the
// configuration cfg, named name, against what sonic gave.
type sonicCheck func(t *testing.T, name string, cfg *Config, body []byte)

// checkAllLikeSonic runs check on each body in each of configs.
func checkAllLikeSonic(t *testing.T, configs map[string]*Config, bodies []string, check sonicCheck) {
	t.Helper()
	for name, cfg := range configs {
		for _, body := range bodies {
			check(t, name, cfg, []byte(body))
		}
	}
}

// fuzzLikeSonic runs check on every body the fuzzer makes from seeds, in
// each of configs.
func fuzzLikeSonic(f *testing.F, configs map[string]*Config, seeds []string, check sonicCheck) {
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, cfg := range configs {
			check(t, name, cfg, body)
		}
	})
}
