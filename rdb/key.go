package rdb

import "strings"

// RoomKey returns the key of room's state called name:
// "<prefix>{<room>}:<name>". The braces are a Redis Cluster hash tag, so
// every key of one room is in the room's slot, and a script or a pipeline
// may use several of them at once. room must be a valid room id, which
// has no braces.
func (c *Client) RoomKey(room, name string) string {
	return c.prefix + "{" + room + "}:" + name
}

// Key returns the key of state that belongs to no room, such as a user's
// rate limit: "<prefix><name>". Such keys spread over a cluster's slots by
// their whole name; name must have no braces.
func (c *Client) Key(name string) string { return c.prefix + name }

// Slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of its
// hash tag, the part between the first '{' and the next '}' when not
// empty, or else of the whole key, modulo 16384.
func Slot(key string) uint16 {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			key = key[open+1 : open+1+n]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^key[i]]
	}
	return crc & 16383
}

// crc16Table is the CRC16 table of the polynomial 0x1021 that Redis
// Cluster uses.
var crc16Table = func() (table [256]uint16) {
	for i := range table {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		table[i] = crc
	}
	return table
}()
