package codec

// Visible sorts a run of decoded stream entries, oldest first, into what a
// reader of the run is shown: the messages that no delete record of the
// run names, each retried post's first copy only (RetryKey), and the IDs
// the run's delete records name, in order. skipped counts the entries that
// were neither a message nor a delete record (EntryInvalid).
func Visible(entries []Entry) (messages []Item, deletes []string, skipped int) {
	var gone map[string]bool
	for i := range entries {
		if e := &entries[i]; e.Kind == EntryDelete {
			if gone == nil {
				gone = make(map[string]bool)
			}
			gone[e.Deleted] = true
			deletes = append(deletes, e.Deleted)
		}
	}
	var seen map[string]bool
	messages = make([]Item, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		switch {
		case e.Kind == EntryInvalid:
			skipped++
			continue
		case e.Kind == EntryDelete, gone[e.Item.Message.ID]:
			continue
		}
		if key := RetryKey(&e.Item.Message); key != "" {
			if seen[key] {
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[key] = true
		}
		messages = append(messages, e.Item)
	}
	return messages, deletes, skipped
}
