package store

import "encoding/base64"

// decodeBase64Len returns the decoded length of a standard base64 string, or
// an error when s is not valid base64.
func decodeBase64Len(s string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return len(b), err
}
