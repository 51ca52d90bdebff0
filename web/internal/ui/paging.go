package ui

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/polku-hb/polku/web/internal/i18n"
)

// Every List call of the edge answers one page and a next_page_token. The UI
// reads a list in one of two ways, chosen per list where it is read:
//
//   - whole (readAll): when the page must see every item to do its job (sort
//     the urgent ones first, search names, find a client's active budget),
//     page after page up to Paging.MaxItems, with a notice when that bound
//     stops it;
//   - forward (readPage): long histories shown newest first (timeline, access
//     log, handled referrals), one page at a time with "next page" and "back
//     to the first page" links that carry the edge's token in the URL.

// Paging sets how lists are read from the edge; zero fields take the defaults.
type Paging struct {
	// PageSize is the number of rows of a forward-paged list (default 50).
	PageSize int
	// FetchSize is the page size asked for while reading a whole list
	// (default 500, the services' largest page).
	FetchSize int
	// MaxItems bounds a whole list (default 2000): a page shows at most this
	// many, and says so when the list is longer.
	MaxItems int
}

func (p Paging) withDefaults() Paging {
	if p.PageSize <= 0 {
		p.PageSize = 50
	}
	if p.FetchSize <= 0 {
		p.FetchSize = 500
	}
	if p.MaxItems <= 0 {
		p.MaxItems = 2000
	}
	return p
}

// pager is the data of the "pager" template: links to a forward-paged list's
// next and first pages ("" when there is none).
type pager struct {
	L     i18n.Lang
	Label string // names the list, so each pager landmark is told apart
	Next  string
	First string
}

type paged interface {
	proto.Message
	GetNextPageToken() string
}

// maxTokenLen bounds a page token taken from a URL; the services' tokens are
// a few dozen characters.
const maxTokenLen = 1024

// validToken keeps a page token opaque but harmless: URL-safe characters
// only, bounded. It is passed on only as the page_token query parameter,
// and the service that made it checks it belongs to the same query.
func validToken(t string) bool {
	if len(t) > maxTokenLen {
		return false
	}
	for _, c := range t {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~', c == '=':
		default:
			return false
		}
	}
	return true
}

// readPage reads the page of a forward-paged list that the URL parameter
// param points at (the first page without one) into out, and returns the
// links to its next and first pages. Links keep the rest of the page's URL
// (other lists' positions, the chosen client) and end at #anchor.
func readPage(rq *request, param, anchor, label, path string, q url.Values, out paged) (pager, error) {
	tok := rq.r.URL.Query().Get(param)
	if !validToken(tok) {
		return pager{}, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("lists.token"))
	}
	q = withPage(q, rq.paging.PageSize, tok)
	if err := rq.edge.Get(rq.r.Context(), path, q, out); err != nil {
		return pager{}, err
	}
	p := pager{L: rq.lang, Label: label}
	if next := out.GetNextPageToken(); next != "" && validToken(next) {
		p.Next = pageLink(rq, param, next, anchor)
	}
	if tok != "" {
		p.First = pageLink(rq, param, "", anchor)
	}
	return p, nil
}

// pageLink is the current page's URL with param set to tok (or removed), the
// flash message dropped.
func pageLink(rq *request, param, tok, anchor string) string {
	q := rq.r.URL.Query()
	q.Del("ok")
	if tok == "" {
		q.Del(param)
	} else {
		q.Set(param, tok)
	}
	u := url.URL{Path: rq.r.URL.Path, RawQuery: q.Encode(), Fragment: anchor}
	return u.String()
}

// withPage is a copy of q asking for one page of size after token.
func withPage(q url.Values, size int, token string) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("page_size", strconv.Itoa(size))
	if token != "" {
		c.Set("page_token", token)
	}
	return c
}

// readAll reads a whole list into out (a List response: one repeated field
// and next_page_token), page by page. It stops at Paging.MaxItems items and
// then reports capped, so the page can say the list goes on.
func readAll(ctx context.Context, rq *request, path string, q url.Values, out paged) (capped bool, err error) {
	m := out.ProtoReflect()
	items, tokenField := listFields(m.Descriptor())
	if items == nil || tokenField == nil {
		return false, fmt.Errorf("readAll: %s is not a list response", m.Descriptor().FullName())
	}
	tok := ""
	for {
		page := m.New().Interface().(paged)
		if err := rq.edge.Get(ctx, path, withPage(q, rq.paging.FetchSize, tok), page); err != nil {
			return false, err
		}
		tok = page.GetNextPageToken()
		page.ProtoReflect().Clear(tokenField)
		proto.Merge(out, page)
		list := m.Mutable(items).List()
		if list.Len() >= rq.paging.MaxItems && (tok != "" || list.Len() > rq.paging.MaxItems) {
			list.Truncate(rq.paging.MaxItems)
			return true, nil
		}
		if tok == "" {
			return false, nil
		}
	}
}

// listFields finds a List response's repeated field and its next_page_token.
func listFields(d protoreflect.MessageDescriptor) (items, token protoreflect.FieldDescriptor) {
	fs := d.Fields()
	for i := 0; i < fs.Len(); i++ {
		if f := fs.Get(i); f.IsList() {
			items = f
		}
	}
	return items, fs.ByName("next_page_token")
}

// cappedNote is the notice shown above a whole list that stopped at the
// bound ("" when it did not).
func cappedNote(rq *request, capped bool) string {
	if !capped {
		return ""
	}
	return rq.lang.T("lists.capped", rq.paging.MaxItems)
}
