package ingest

import (
	"strconv"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/rdb"
	"github.com/danmu-dev/danmu/stream"
)

// TestPostBatchRedisIntegration posts a full batch into a Redis stream,
// with the policy state in Redis too, and reads the stream back: every
// accepted comment is there, in order, under the ID it was answered
// with, and the refused one is not.
func TestPostBatchRedisIntegration(t *testing.T) {
	prefix := "ingestbatch:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	deleteKeys(t, prefix)
	client, err := rdb.New(rdb.Config{Addrs: []string{sharedRedis}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	log := stream.NewRedis(client, stream.RedisConfig{})
	cfg := Config{Policy: policy.Config{Store: policy.NewRedis(client), SpamWindow: time.Minute}}
	ts := startServer(t, cfg, log, nil, nil)

	comments := make([]string, DefaultMaxBatch)
	for i := range comments {
		comments[i] = `{"text":"c` + strconv.Itoa(i) + `","uid":"relay"}`
	}
	comments[50] = comments[49] // the spam rule refuses the repeat
	results := ts.postBatch(t, "room", batchOf(comments...))
	if len(results) != len(comments) {
		t.Fatalf("%d results for %d comments", len(results), len(comments))
	}
	var ids []string
	var texts []string
	for i, r := range results {
		if i == 50 {
			if r.Status != 429 || r.code() != CodeSpam {
				t.Errorf("repeated comment: %+v; want 429 spam", r)
			}
			continue
		}
		if r.Status != 201 || r.ID == "" {
			t.Fatalf("comment %d: %+v; want 201 with an id", i, r)
		}
		ids = append(ids, r.ID)
		texts = append(texts, "c"+strconv.Itoa(i))
	}
	checkRoomHolds(t, log, "room", ids, texts)
}
