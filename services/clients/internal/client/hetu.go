package client

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Finnish personal identity code (henkilötunnus): DDMMYYCZZZQ.
//
//	DDMMYY  birth date
//	C       century sign: '+' 1800s; '-' and (since 2023) Y X W V U 1900s;
//	        'A' and (since 2023) B C D E F 2000s
//	ZZZ     individual number 002-899 (900-999 are temporary codes)
//	Q       check character: DDMMYYZZZ as a number mod 31, indexing checkChars
const checkChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// Identity-code errors say which rule failed and never echo the code.
var (
	ErrPICLength     = errors.New("must be 11 characters (DDMMYYCZZZQ)")
	ErrPICCentury    = errors.New("century sign must be one of + - Y X W V U A B C D E F")
	ErrPICDate       = errors.New("birth date is not a real date")
	ErrPICIndividual = errors.New("individual number must be 002-999")
	ErrPICCheck      = errors.New("check character does not match")
)

var centuries = map[byte]int{
	'+': 1800,
	'-': 1900, 'Y': 1900, 'X': 1900, 'W': 1900, 'V': 1900, 'U': 1900,
	'A': 2000, 'B': 2000, 'C': 2000, 'D': 2000, 'E': 2000, 'F': 2000,
}

// PIC is a validated personal identity code.
type PIC struct {
	code  string
	birth time.Time
}

// ParsePIC validates a personal identity code; today bounds the birth date (a
// code cannot be born in the future). Lower-case letters are accepted.
func ParsePIC(s string, today time.Time) (PIC, error) {
	if len(s) != 11 {
		return PIC{}, ErrPICLength
	}
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	century, ok := centuries[b[6]]
	if !ok {
		return PIC{}, ErrPICCentury
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9} {
		if b[i] < '0' || b[i] > '9' {
			return PIC{}, fmt.Errorf("position %d must be a digit", i+1)
		}
	}
	dd, _ := strconv.Atoi(string(b[0:2]))
	mm, _ := strconv.Atoi(string(b[2:4]))
	yy, _ := strconv.Atoi(string(b[4:6]))
	birth := time.Date(century+yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if birth.Day() != dd || int(birth.Month()) != mm || birth.After(today) {
		return PIC{}, ErrPICDate
	}
	zzz, _ := strconv.Atoi(string(b[7:10]))
	if zzz < 2 {
		return PIC{}, ErrPICIndividual
	}
	n, _ := strconv.Atoi(string(b[0:6]) + string(b[7:10]))
	if checkChars[n%31] != b[10] {
		return PIC{}, ErrPICCheck
	}
	return PIC{code: string(b), birth: birth}, nil
}

// String is the normalised code (upper case). Handle with care: personal data.
func (p PIC) String() string { return p.code }

// Masked hides the individual number and check character: "131052-****".
func (p PIC) Masked() string { return MaskPIC(p.code) }

// BirthDate is the date of birth the code states.
func (p PIC) BirthDate() time.Time { return p.birth }

// MaskPIC masks a normalised code; anything not 11 characters masks completely.
func MaskPIC(code string) string {
	if len(code) != 11 {
		return "***********"
	}
	return code[:7] + "****"
}
