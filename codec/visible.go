package codec

import "unicode/utf8"

// ValidStored reports whether data can be spliced into a batch as a stored
// message: one JSON object, valid UTF-8, opening with its first key (the
// ID is spliced in right after the brace). Ingest only stores such
// messages; readers check it because the stream may be shared, and an
// entry such as "{oops}" or "{"a":1}{"b":2}" would make a whole frame or
// answer invalid JSON.
func ValidStored(data []byte) bool {
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}' &&
		(data[1] == '"' || len(data) == 2) && utf8.Valid(data) && JSON.Valid(data)
}

// Visible sorts a run of stream entries, oldest first, into what a reader
// of the run is shown: the valid stored messages that no delete record of
// the run names, each CID's first copy only (a retried POST may be stored
// twice), and the IDs the run's delete records name, in order. skipped
// counts the entries that were neither a valid message nor a valid record.
func Visible(items []Item) (messages []Item, deletes []string, skipped int) {
	var gone map[string]bool
	for _, it := range items {
		if !IsControl(it.Stored) {
			continue
		}
		c, err := ParseControl(it.Stored)
		if err != nil {
			skipped++
			continue
		}
		if gone == nil {
			gone = make(map[string]bool)
		}
		gone[c.ID] = true
		deletes = append(deletes, c.ID)
	}
	var seen map[string]bool
	messages = make([]Item, 0, len(items))
	for _, it := range items {
		switch {
		case IsControl(it.Stored), gone[it.ID]:
			continue
		case !ValidStored(it.Stored):
			skipped++
			continue
		}
		if key := StoredRetryKey(it.Stored); key != nil {
			if seen[string(key)] {
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[string(key)] = true
		}
		messages = append(messages, it)
	}
	return messages, deletes, skipped
}
