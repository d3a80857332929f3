// Package baseline is the reference server danmu is measured against: the
// classic design of the gorilla/websocket chat example. Each viewer has a
// reader and a writer goroutine and a buffered channel of outbound messages;
// a hub keeps map[room]map[*client]bool under one mutex; a net/http POST
// validates a comment, gives it an ID and pushes the encoded message into
// every channel of the room, dropping a viewer whose channel is full. It
// speaks danmu's wire shapes (/ws?room=R, POST /v1/rooms/{room}/danmaku,
// "joined" and "batch" messages) so that the load generator can target both.
//
// It is small and honest: no deliberate slowness and no tuning beyond the
// example's. It imports codec and ingest only for their validation rules
// and defaults.
package baseline
