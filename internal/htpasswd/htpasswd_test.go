package htpasswd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestLineVerifiesWithBcrypt(t *testing.T) {
	tests := []struct {
		name, user, password, scope string
	}{
		{"book user", "sysop", "correct horse battery", "dev3"},
		{"other stack", "sysop", "correct horse battery", "local"},
		{"unicode password", "ops", "pässwörd-✓", "dev3"},
		{"72 bytes", "sysop", strings.Repeat("x", 72), "dev3"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Line(tt.user, tt.password, tt.scope)
			require.NoError(t, err)
			user, hash, ok := strings.Cut(got, ":")
			require.True(t, ok)
			assert.Equal(t, tt.user, user)
			assert.True(t, strings.HasPrefix(hash, "$2y$10$"), hash)
			assert.Len(t, hash, 60)
			assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.password)))
			assert.Error(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("!"+tt.password[1:])))
			again, err := line(tt.user, tt.password, tt.scope) // computed afresh, not remembered
			require.NoError(t, err)
			assert.Equal(t, got, again, "the same inputs must give the same line")
			for other, h := range seen {
				assert.NotEqual(t, h, hash, "salt must differ from %s", other)
			}
			seen[tt.name] = hash
		})
	}
}

func TestLineRejects(t *testing.T) {
	tests := []struct{ name, user, password, want string }{
		{"colon in user", "sys:op", "secret-secret", "without ':'"},
		{"empty user", "", "secret-secret", "non-empty"},
		{"long password", "sysop", strings.Repeat("x", 73), "at most 72 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Line(tt.user, tt.password, "dev3")
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
