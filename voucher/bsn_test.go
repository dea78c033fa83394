package voucher_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// elfProef computes the check digit that makes the first eight digits a valid
// BSN, independently of the code under test; ok is false when none exists.
func elfProef(first8 string) (string, bool) {
	sum := 0
	for i, c := range first8 {
		sum += (9 - i) * int(c-'0')
	}
	d := sum % 11
	if d > 9 || sum-d == 0 { // the 11-proof sum must not be zero
		return "", false
	}
	return first8 + string(rune('0'+d)), true
}

func TestCheckBSN(t *testing.T) {
	valid := []string{
		"111222333", // 9+8+7+12+10+8+9+6−3 = 66 = 6·11
		"123456782", // 9+16+21+24+25+24+21+16−2 = 154 = 14·11
		"999999990", // 9·44 − 0 = 396 = 36·11
	}
	for _, first8 := range []string{"00000001", "12121212", "98765432", "27048536", "30000000"} {
		if bsn, ok := elfProef(first8); ok {
			valid = append(valid, bsn)
		}
	}
	for _, bsn := range valid {
		t.Run("valid "+bsn, func(t *testing.T) {
			if err := voucher.CheckBSN(bsn); err != nil {
				t.Errorf("CheckBSN(%s): %v", bsn, err)
			}
		})
	}

	invalid := []struct{ name, bsn string }{
		{"empty", ""},
		{"eight digits", "12345678"},
		{"ten digits", "1234567820"},
		{"valid with a leading zero added", "0111222333"},
		{"letter", "12345678a"},
		{"letter first", "a23456782"},
		{"space", "123 56782"},
		{"sign", "+12345678"},
		{"dots", "123.456.782"},
		{"fails the 11-proof", "123456789"},
		{"fails the 11-proof by one digit", "111222334"},
		{"swapped digits", "213456782"},
		{"all zeros", "000000000"},
		{"fullwidth digits", "１２３４５６７８２"},
		{"arabic-indic digits", "١٢٣٤٥٦٧٨٢"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			err := voucher.CheckBSN(tc.bsn)
			if err == nil {
				t.Fatalf("CheckBSN(%q) accepted", tc.bsn)
			}
			if regie.ErrorKind(err) != regie.Invalid || regie.ErrorCode(err) != "bsn_invalid" {
				t.Errorf("CheckBSN(%q) = %v, want invalid bsn_invalid", tc.bsn, err)
			}
			if tc.bsn != "" && strings.Contains(err.Error(), tc.bsn) {
				t.Errorf("error %q repeats the number", err)
			}
		})
	}

	t.Run("every single-digit change of a valid BSN is caught", func(t *testing.T) {
		base := []byte("123456782")
		for i := range base {
			for c := byte('0'); c <= '9'; c++ {
				if c == base[i] {
					continue
				}
				b := bytes.Clone(base)
				b[i] = c
				if voucher.CheckBSN(string(b)) == nil {
					t.Errorf("CheckBSN(%s) accepted a one-digit change of %s", b, base)
				}
			}
		}
	})
}

func testPseudonymiser(t *testing.T, seed byte) *voucher.Pseudonymiser {
	t.Helper()
	p, err := voucher.NewPseudonymiser(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPseudonymiser(t *testing.T) {
	for _, n := range []int{0, 16, 31} {
		if _, err := voucher.NewPseudonymiser(make([]byte, n)); err == nil {
			t.Errorf("NewPseudonymiser with a %d-byte key accepted", n)
		}
	}
	if _, err := voucher.NewPseudonymiser(make([]byte, 32)); err != nil {
		t.Errorf("NewPseudonymiser with a 32-byte key: %v", err)
	}
	t.Run("copies the key", func(t *testing.T) {
		key := bytes.Repeat([]byte{7}, 32)
		p, err := voucher.NewPseudonymiser(key)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := p.Pseudonym("123456782")
		key[0] = 8
		after, _ := p.Pseudonym("123456782")
		if before != after {
			t.Error("changing the caller's key slice changed the pseudonym")
		}
	})
}

func TestPseudonymiser_Pseudonym(t *testing.T) {
	p1 := testPseudonymiser(t, 1)
	p1again := testPseudonymiser(t, 1)
	p2 := testPseudonymiser(t, 2)
	bsns := []string{"111222333", "123456782", "999999990"}

	t.Run("shape", func(t *testing.T) {
		for _, bsn := range bsns {
			ps, err := p1.Pseudonym(bsn)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 33 || ps[0] != 'c' {
				t.Errorf("Pseudonym(%s) = %q, want c and 32 characters", bsn, ps)
			}
			if strings.Trim(ps[1:], "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Errorf("Pseudonym(%s) = %q has characters outside base32", bsn, ps)
			}
		}
	})
	t.Run("stable per key", func(t *testing.T) {
		for _, bsn := range bsns {
			a, _ := p1.Pseudonym(bsn)
			b, _ := p1.Pseudonym(bsn)
			c, _ := p1again.Pseudonym(bsn)
			if a != b || a != c {
				t.Errorf("Pseudonym(%s) not stable: %s %s %s", bsn, a, b, c)
			}
		}
	})
	t.Run("different per key", func(t *testing.T) {
		for _, bsn := range bsns {
			a, _ := p1.Pseudonym(bsn)
			b, _ := p2.Pseudonym(bsn)
			if a == b {
				t.Errorf("Pseudonym(%s) is the same under two keys", bsn)
			}
		}
	})
	t.Run("different per BSN", func(t *testing.T) {
		seen := map[string]string{}
		for _, bsn := range bsns {
			ps, _ := p1.Pseudonym(bsn)
			if prev, ok := seen[ps]; ok {
				t.Errorf("%s and %s share pseudonym %s", prev, bsn, ps)
			}
			seen[ps] = bsn
		}
	})
	t.Run("never contains the BSN", func(t *testing.T) {
		for i := 0; i < 200; i++ {
			bsn, ok := elfProef(fmt.Sprintf("%08d", 10000000+i*37))
			if !ok {
				continue
			}
			ps, err := p1.Pseudonym(bsn)
			if err != nil {
				t.Fatalf("Pseudonym(%s): %v", bsn, err)
			}
			if strings.Contains(ps, bsn) {
				t.Errorf("pseudonym %s contains the BSN %s", ps, bsn)
			}
		}
	})
	t.Run("invalid BSN", func(t *testing.T) {
		for _, bsn := range []string{"123456789", "12345678", "abcdefghi", "000000000"} {
			ps, err := p1.Pseudonym(bsn)
			if err == nil {
				t.Fatalf("Pseudonym(%q) = %q, want error", bsn, ps)
			}
			if ps != "" {
				t.Errorf("Pseudonym(%q) returned %q with an error", bsn, ps)
			}
			if regie.ErrorCode(err) != "bsn_invalid" {
				t.Errorf("Pseudonym(%q): code %q", bsn, regie.ErrorCode(err))
			}
			if strings.Contains(err.Error(), bsn) || strings.Contains(fmt.Sprintf("%+v", err), bsn) {
				t.Errorf("error %q contains the number", err)
			}
		}
	})
}
