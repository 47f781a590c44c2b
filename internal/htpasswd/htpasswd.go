// Package htpasswd writes the htpasswd lines that ingress-nginx basic auth
// reads, with bcrypt hashes that stay the same from one deployment to the
// next.
//
// bcrypt draws a fresh random salt for every hash, so a program that hashed
// the password on each `pulumi up` would change the Secret every time: a
// perpetual diff and a needless rollout. Here the caller gives the salt: a
// random one (NewSalt) that it keeps from one deployment to the next, so the
// same password gives the same line. The salt must not be derivable from the
// password: a salt computed from it lets whoever reads the line test a
// guess with that cheap computation and skip bcrypt's work.
// golang.org/x/crypto/bcrypt takes no salt, so the hash is computed here from
// its definition on top of the Blowfish key schedule of
// golang.org/x/crypto/blowfish; the tests check every line against
// golang.org/x/crypto/bcrypt.
package htpasswd

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/blowfish"
)

// Cost is the bcrypt work factor (2^Cost key expansions), bcrypt's default.
const Cost = 10

// maxPassword is where bcrypt stops reading a key.
const maxPassword = 72

// bcryptBase64 is bcrypt's own base64 alphabet, unpadded.
var bcryptBase64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// lines memoizes Line by a digest of its inputs: the line is a pure
// function of them, and a process that evaluates the program many times
// (the tests, the benchmark, an Automation API caller) should pay the 2^Cost
// key expansions once, not on every run.
var lines sync.Map // [sha256.Size]byte -> string

// SaltLength is the length of an encoded salt (16 bytes in bcrypt's
// base64).
const SaltLength = 22

// NewSalt is a random bcrypt salt in the encoded form Line takes.
func NewSalt() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return bcryptBase64.EncodeToString(b), nil
}

// Line is "user:<bcrypt hash of password>" with salt, an encoded salt as
// NewSalt makes.
func Line(user, password, salt string) (string, error) {
	key := sha256.Sum256([]byte(user + "\x00" + password + "\x00" + salt))
	if l, ok := lines.Load(key); ok {
		return l.(string), nil
	}
	l, err := line(user, password, salt)
	if err == nil {
		lines.Store(key, l)
	}
	return l, err
}

// line computes what Line returns.
func line(user, password, salt string) (string, error) {
	if user == "" || strings.ContainsAny(user, ":\n\r") {
		return "", fmt.Errorf("htpasswd user %q: must be non-empty without ':' or line breaks", user)
	}
	if len(password) > maxPassword {
		return "", fmt.Errorf("htpasswd password: bcrypt reads at most %d bytes", maxPassword)
	}
	raw, err := bcryptBase64.DecodeString(salt)
	if err != nil || len(salt) != SaltLength {
		return "", fmt.Errorf("htpasswd salt: must be %d characters of bcrypt's base64", SaltLength)
	}
	hash, err := Hash(password, raw, Cost)
	if err != nil {
		return "", err
	}
	return user + ":" + hash, nil
}

// Hash is the bcrypt hash ("$2y$...") of password with a 16-byte salt.
func Hash(password string, salt []byte, cost int) (string, error) {
	if len(salt) != 16 {
		return "", fmt.Errorf("bcrypt salt must be 16 bytes, got %d", len(salt))
	}
	if cost < 4 || cost > 31 {
		return "", fmt.Errorf("bcrypt cost must be 4..31, got %d", cost)
	}
	// bcrypt keys include the terminating NUL of the C string.
	key := append([]byte(password), 0)
	if len(key) > maxPassword {
		key = key[:maxPassword]
	}
	encodedSalt := bcryptBase64.EncodeToString(salt)
	// The encoded salt's last character carries 2 padding bits; bcrypt uses
	// the salt as decoded from its 22 characters.
	rawSalt, err := bcryptBase64.DecodeString(encodedSalt)
	if err != nil {
		return "", err
	}
	c, err := blowfish.NewSaltedCipher(key, rawSalt)
	if err != nil {
		return "", err
	}
	for i := 0; i < 1<<cost; i++ {
		blowfish.ExpandKey(key, c)
		blowfish.ExpandKey(rawSalt, c)
	}
	text := []byte("OrpheanBeholderScryDoubt")
	for i := 0; i < 64; i++ {
		for j := 0; j < len(text); j += blowfish.BlockSize {
			c.Encrypt(text[j:j+blowfish.BlockSize], text[j:j+blowfish.BlockSize])
		}
	}
	// The hash keeps 23 of the 24 bytes, as every bcrypt does.
	return fmt.Sprintf("$2y$%02d$%s%s", cost, encodedSalt, bcryptBase64.EncodeToString(text[:23])), nil
}
