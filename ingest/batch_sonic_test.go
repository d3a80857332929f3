package ingest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/bytedance/sonic"

	"github.com/danmu-dev/danmu/codec"
)

// sonicBatchBody is the struct sonic decoded a batch body into before
// decodeBatch read it by hand: with sonicDecodeBatch, the oracle of
// TestDecodeBatchSonic and FuzzDecodeBatchSonic.
type sonicBatchBody struct {
	Comments []sonic.NoCopyRawMessage `json:"comments"`
}

// sonicDecodeBatch is decodeBatch as it was with sonic.
func sonicDecodeBatch(body []byte, cfg *Config, errs *limitErrors) ([]sonic.NoCopyRawMessage, *Error) {
	if len(body) > cfg.MaxBatchBytes {
		return nil, errs.batchTooLarge
	}
	if !isJSONObject(body) {
		return nil, errInvalidJSON
	}
	var in sonicBatchBody
	if err := codec.JSON.Unmarshal(body, &in); err != nil {
		return nil, errInvalidJSON
	}
	if len(in.Comments) == 0 || len(in.Comments) > cfg.MaxBatch {
		return nil, errs.invalidBatch
	}
	return in.Comments, nil
}

// sonicBatchConfigs are the configurations decodeBatch is checked against
// sonic with: the default, and one of small limits, which short bodies
// reach.
func sonicBatchConfigs() map[string]*Config {
	open, _ := defaultConfig()
	small := *open
	small.MaxBatch = 3
	small.MaxBatchBytes = 256
	return map[string]*Config{"default": open, "small": &small}
}

// checkBatchLikeSonic checks that decodeBatch gives what sonic gave for
// body: the same raw comments, byte for byte, each aliasing body, or the
// same error.
func checkBatchLikeSonic(t *testing.T, name string, cfg *Config, body []byte) {
	t.Helper()
	errs := newLimitErrors(cfg)
	want, wantErr := sonicDecodeBatch(body, cfg, &errs)
	got, gotErr := decodeBatch(nil, body, cfg, &errs)
	same := gotErr == wantErr && len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = bytes.Equal(got[i], want[i])
	}
	if !same {
		t.Fatalf("%s: decodeBatch(%q) = %q, %v; sonic gave %q, %v", name, body, got, gotErr, want, wantErr)
	}
	for _, raw := range got {
		if !aliases(raw, body) {
			t.Fatalf("%s: decodeBatch(%q) = %q: a copy, not a slice of the body", name, body, raw)
		}
	}
}

// aliases reports whether part lies within whole's memory.
func aliases(part, whole []byte) bool {
	if len(part) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
	return p >= start && p+uintptr(len(part)) <= start+uintptr(len(whole))
}

// batchSonicSeeds are bodies where a hand-written splitter might part
// from sonic: the key in other cases and escaped, a second "comments",
// null and values that are no array, elements of every kind and broken
// ones, unknown keys around the array, the whitespace JSON allows and what
// it does not, data after the body, and batches at the limits.
var batchSonicSeeds = []string{
	batchOf(`{"text":"hello"}`),
	batchOf(`{"text":"弾幕 ok","color":"#A1b2C3","mode":"top","name":"小明","uid":"u-42","cid":"c"}`, `{"text":""}`, `5`, `null`),
	`{"comments":[]}`, `{"comments":null}`, `{"comments":{"text":"a"}}`,
	`{"comments":[{"text":"a"}],"comments":[{"text":"b"},{"text":"c"}]}`,
	`{"comments":[{"text":"\u00e9\ud83d\ude00 \"q\""}],"extra":[1,{"a":null}]}`,
	"{\"comments\":[{\"text\":\"h\xffi\"}]}", `[{"text":"a"}]`, `{"comments":[{"text":"a"}`, ``,
	batchOf(strings.Repeat(`{"text":"x"},`, 100) + `{"text":"y"}`),
	batchOf(strings.Repeat(`{"text":"x"},`, 99) + `{"text":"y"}`),
	batchOf(strings.Repeat(`1,`, 150)+`1`) + "x", batchOf(strings.Repeat(`1,`, 150) + `1,`),
	`{"COMMENTS":[1]}`, `{"Comments":[1]}`, `{"cOmMeNtS":[1]}`, `{"comment\u0073":[1]}`, `{"\u0043OMMENTS":[1]}`,
	`{"comments ":[1]}`, `{" comments":[1]}`, `{"comment":[1]}`, `{"commentss":[1]}`, `{"":[1]}`,
	"{\"comm\u0130nts\":[1]}", "{\"\u212aomments\":[1]}", `{"comm\u0130nts":[1]}`, `{"comments\u0000":[1]}`,
	`{"comments\q":[1]}`, "{\"comments\t\":[1]}", `{"comm\ud800ents":[1]}`,
	`{"comments":[1],"COMMENTS":[2,3]}`, `{"comments":[1],"comments":null}`, `{"comments":null,"comments":[1]}`,
	`{"comments":[1],"comments":[]}`, `{"comments":[1],"comments":1}`, `{"comments":[1],"comments":"a"}`,
	`{"comments":[1,2,3,4],"comments":[1]}`, `{"comments":[1],"comments":[1,2,3,4]}`, `{"comments":[1],"comments":[1,}`,
	`{"comments":"a"}`, `{"comments":1}`, `{"comments":-1}`, `{"comments":true}`, `{"comments":false}`, `{"comments":{}}`,
	`{"comments":nul}`, `{"comments":nullx}`, `{"comments":null }`, `{"comments":Null}`, `{"comments":"\q"}`,
	`{"comments":{"a":}}`, `{"comments":[[]]}`, `{"comments":[{}]}`, `{"comments":[{},{}]}`, `{"comments":[""]}`,
	`{"comments": [ 1 , 2 ] }`, "{\"comments\":[\t1\n,\r2 ]}", "{\"comments\":[\f1]}", "{\"comments\":[1\v]}",
	`{"comments":[1,]}`, `{"comments":[,1]}`, `{"comments":[1 2]}`, `{"comments":[1,,2]}`, `{"comments":[}`,
	`{"comments":[1`, `{"comments":[1,`, `{"comments":[`, `{"comments":`, `{"comments"`, `{"comments":[]`,
	`{"comments":[1]]}`, `{"comments":[1}]}`, `{"comments":[1]`, `{"comments":[1]}}`, `{"comments":[1]} x`,
	`{"comments":[1]} {}`, "{\"comments\":[1]}\f", "\f{\"comments\":[1]}", "{\"comments\":[1]}\x00", " \r\n\t{\"comments\":[1]} \r\n\t",
	"\ufeff{\"comments\":[1]}", `{'comments':[1]}`, `{comments:[1]}`, `{"comments":[1],}`, `{,"comments":[1]}`,
	`{"comments" [1]}`, `{"comments"::[1]}`, `null`, ` [1]`, `1`, `"comments"`, `{}`, `{ }`,
	`{"comments":[1.5,-0,0e0,1E+2,-1.5e-3]}`, `{"comments":[01]}`, `{"comments":[1.]}`, `{"comments":[-]}`,
	`{"comments":[.5]}`, `{"comments":[+1]}`, `{"comments":[1e]}`, `{"comments":[1x]}`, `{"comments":[NaN]}`,
	`{"comments":[true,false,null]}`, `{"comments":[tru]}`, `{"comments":[truex]}`, `{"comments":[nulll]}`,
	`{"comments":["a","\u0000","\ud800","\"","\\"]}`, `{"comments":["\q"]}`, `{"comments":["\u12g4"]}`,
	"{\"comments\":[\"a\tb\"]}", "{\"comments\":[\"a\x00b\"]}", `{"comments":["a]}`, `{"comments":["\"]}`,
	`{"comments":[{"a":1,}]}`, `{"comments":[{"a"}]}`, `{"comments":[{1:2}]}`, `{"comments":[{"a":1 "b":2}]}`,
	`{"comments":[[1,],1]}`, `{"comments":[{"text":"a"} , {"text":"b"}]}`, `{"comments":[{"text":"a"},]}`,
	`{"x":1,"comments":[1]}`, `{"comments":[1],"x":1}`, `{"x":"\q","comments":[1]}`, `{"comments":[1],"x":[}`,
	`{"x":[1,{"a":[null]}],"comments":[1],"y":{"b":"\u0000"}}`, `{"x":01,"comments":[1]}`, `{"x":{"a"},"comments":[1]}`,
	`{"comments":[1],"x":"` + strings.Repeat("a", 200) + `"}`, batchOf(`"` + strings.Repeat("é", 150) + `"`),
	batchOf(`{"text":"` + strings.Repeat("x", 300) + `"}`),
}

// batchBlockSeeds are bodies where sonic checks the escapes of a string
// it skips or not, by where the string lies from the end of the body
// (skipString): invalid escapes and control characters before, across and
// after the 64- and 32-byte blocks it reads at once, in a comment, in a
// comment's value or key, and in an unknown key or its value.
func batchBlockSeeds() []string {
	var bodies []string
	for _, n := range []int{0, 1, 29, 30, 31, 32, 33, 61, 62, 63, 64, 65, 95, 96, 97, 200} {
		a := strings.Repeat("a", n)
		for _, bad := range []string{`\q`, `\u00G1`, `\u12`, "\\\t", "\t", `\\`, `\"`, `\ud800`} {
			for _, pad := range []string{"", strings.Repeat(" ", 40), strings.Repeat(" ", 100)} {
				bodies = append(bodies,
					`{"comments":["`+a+bad+`"]}`+pad,
					`{"comments":["`+bad+a+`"]}`+pad,
					`{"comments":[{"x":"`+a+bad+`"}]}`+pad,
					`{"comments":[{"`+a+bad+`":1}]}`+pad,
					`{"comments":[1,["`+a+bad+`"]]}`+pad,
					`{"comments":[1],"x":"`+a+bad+`"}`+pad,
					`{"x`+a+bad+`":1,"comments":[1]}`+pad)
			}
		}
	}
	return bodies
}

// TestDecodeBatchSonic checks decodeBatch against the sonic decoder it
// replaced on the bodies where the two might part, in each configuration,
// among them comments and unknown keys' values nested as deep as sonic
// allows and one more (deepValues), and strings sonic reads in blocks
// (batchBlockSeeds).
func TestDecodeBatchSonic(t *testing.T) {
	bodies := append(slices.Clone(batchSonicSeeds), batchBlockSeeds()...)
	for _, v := range deepValues() {
		bodies = append(bodies, batchOf(v), batchOf(`1`, v)+" ", `{"x":`+v+`,"comments":[1]}`)
	}
	checkAllLikeSonic(t, sonicBatchConfigs(), bodies, checkBatchLikeSonic)
}

// FuzzDecodeBatchSonic checks decodeBatch against the sonic decoder it
// replaced: for every body, in each configuration, the same raw comments
// byte for byte, or the same error.
func FuzzDecodeBatchSonic(f *testing.F) {
	seeds := slices.Clone(batchSonicSeeds)
	for _, seed := range sonicSeeds {
		seeds = append(seeds, batchOf(seed))
	}
	fuzzLikeSonic(f, sonicBatchConfigs(), seeds, checkBatchLikeSonic)
}
