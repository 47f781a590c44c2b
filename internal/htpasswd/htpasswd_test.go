package htpasswd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestLineVerifiesWithBcrypt(t *testing.T) {
	salt := func() string {
		s, err := NewSalt()
		require.NoError(t, err)
		require.Len(t, s, SaltLength)
		return s
	}
	tests := []struct {
		name, user, password, salt string
	}{
		{"book user", "sysop", "correct horse battery", salt()},
		{"same password, other salt", "sysop", "correct horse battery", salt()},
		{"unicode password", "ops", "pässwörd-✓", salt()},
		{"72 bytes", "sysop", strings.Repeat("x", 72), salt()},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Line(tt.user, tt.password, tt.salt)
			require.NoError(t, err)
			user, hash, ok := strings.Cut(got, ":")
			require.True(t, ok)
			assert.Equal(t, tt.user, user)
			assert.True(t, strings.HasPrefix(hash, "$2y$10$"+tt.salt[:21]), "the line carries the given salt: %s", hash)
			assert.Len(t, hash, 60)
			assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.password)))
			assert.Error(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("!"+tt.password[1:])))
			again, err := line(tt.user, tt.password, tt.salt) // computed afresh, not remembered
			require.NoError(t, err)
			assert.Equal(t, got, again, "the same inputs must give the same line")
			for other, h := range seen {
				assert.NotEqual(t, h, hash, "salt must differ from %s", other)
			}
			seen[tt.name] = hash
		})
	}
}

func TestNewSaltIsRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSalt()
		require.NoError(t, err)
		assert.False(t, seen[s], "salt %s drawn twice", s)
		seen[s] = true
	}
}

func TestLineRejects(t *testing.T) {
	good, err := NewSalt()
	require.NoError(t, err)
	tests := []struct{ name, user, password, salt, want string }{
		{"colon in user", "sys:op", "secret-secret", good, "without ':'"},
		{"empty user", "", "secret-secret", good, "non-empty"},
		{"long password", "sysop", strings.Repeat("x", 73), good, "at most 72 bytes"},
		{"short salt", "sysop", "secret-secret", good[:10], "22 characters"},
		{"no salt", "sysop", "secret-secret", "", "22 characters"},
		{"salt outside the alphabet", "sysop", "secret-secret", strings.Repeat("+", 22), "22 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Line(tt.user, tt.password, tt.salt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestHashMatchesKnownVector(t *testing.T) {
	// A vector from the OpenBSD bcrypt test suite: password "U*U", cost 5.
	salt, err := bcryptBase64.DecodeString("CCCCCCCCCCCCCCCCCCCCC.")
	require.NoError(t, err)
	got, err := Hash("U*U", salt, 5)
	require.NoError(t, err)
	assert.Equal(t, "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", got)
}
