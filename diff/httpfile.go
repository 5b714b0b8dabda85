package diff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// ParseResponseFile reads an answer saved by `curl -i` or `curl -sD-`: a
// status line, headers, a blank line and the body as received (curl undoes
// chunking, not content codings, unless --compressed was given). CRLF and
// LF line ends are both accepted.
//
// When curl printed several header blocks (a 100 Continue, redirects it
// followed, a proxy's CONNECT answer, an authentication round), the last
// is the answer: a block is followed by another whenever what comes after
// it starts with a valid status line. Data that does not start with "HTTP/"
// is a bare body: the Response has Status 0 and no headers, and only its
// body is compared.
func ParseResponseFile(data []byte) (*Response, error) {
	if !bytes.HasPrefix(data, []byte("HTTP/")) {
		return &Response{Body: data}, nil
	}
	rest := data
	for {
		resp, body, err := parseHead(rest)
		if err != nil {
			return nil, err
		}
		if !startsWithStatusLine(body) {
			resp.Body = body
			return resp, nil
		}
		rest = body
	}
}

// parseHead reads one status line and header block, returning what
// follows the blank line that ends it (or nothing, when data ends first).
func parseHead(data []byte) (*Response, []byte, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReader(src)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, nil, fmt.Errorf("read status line: %w", err)
	}
	proto, status, err := parseStatusLine(line)
	if err != nil {
		return nil, nil, err
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, fmt.Errorf("headers after %q: %w", sample(line), err)
	}
	consumed := len(data) - br.Buffered() - src.Len()
	if err != nil {
		consumed = len(data)
	}
	return &Response{Status: status, Proto: proto, Header: http.Header(h)}, data[consumed:], nil
}

// parseStatusLine reads "HTTP/1.1 200 OK", "HTTP/2 200" and the like.
func parseStatusLine(line string) (proto string, status int, err error) {
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	status, convErr := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/") || len(code) != 3 || convErr != nil || status < 100 {
		return "", 0, fmt.Errorf("bad status line %q: want HTTP/<version> <3-digit code> [reason]", sample(line))
	}
	return proto, status, nil
}

func startsWithStatusLine(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("HTTP/")) {
		return false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	_, _, err := parseStatusLine(strings.TrimSuffix(string(line), "\r"))
	return err == nil
}
