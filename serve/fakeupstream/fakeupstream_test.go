package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, url, auth, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestChat(t *testing.T) {
	fake := &Server{APIKey: "k", Chunks: 2}
	ts := httptest.NewServer(fake)
	defer ts.Close()
	const q = `"messages":[{"role":"user","content":"old"},{"role":"assistant","content":"x"},{"role":"user","content":[{"type":"text","text":"hello there"}]}]`

	resp, body := post(t, ts.URL, "Bearer k", `{"model":"m1",`+q+`}`)
	var out struct {
		Object  string
		Model   string
		Choices []struct {
			Message struct{ Role, Content string }
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 || out.Object != "chat.completion" ||
		out.Model != "m1" || out.Choices[0].Message.Content != "[fake m1] you said: hello there" {
		t.Errorf("plain: %d %s", resp.StatusCode, body)
	}

	resp, body = post(t, ts.URL, "Bearer k", `{"model":"m2","stream":true,`+q+`}`)
	events := strings.Split(strings.TrimSpace(body), "\n\n")
	if resp.Header.Get("Content-Type") != "text/event-stream" || len(events) != 4 || events[3] != "data: [DONE]" {
		t.Fatalf("stream: %q", body)
	}
	var text string
	for _, ev := range events[:3] {
		var c struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		text += c.Choices[0].Delta.Content
	}
	if text != "[fake m2] you said: hello there" {
		t.Errorf("streamed text %q", text)
	}

	if resp, body = post(t, ts.URL, "Bearer nope", `{"model":"m1",`+q+`}`); resp.StatusCode != 401 || !strings.Contains(body, "invalid_api_key") {
		t.Errorf("wrong key: %d %s", resp.StatusCode, body)
	}
	if resp, _ = post(t, ts.URL, "Bearer k", `{"model":`); resp.StatusCode != 400 {
		t.Errorf("bad JSON: %d", resp.StatusCode)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[0].Model != "m1" || !reqs[1].Stream || reqs[2].Authorization != "Bearer nope" {
		t.Errorf("requests recorded: %+v", reqs)
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		s string
		n int
	}{{"a b c d e", 3}, {"one", 3}, {"a b", 0}, {"", 2}} {
		parts := split(c.s, c.n)
		if strings.Join(parts, "") != c.s || len(parts) == 0 || c.n > 0 && len(parts) > c.n {
			t.Errorf("split(%q, %d) = %q", c.s, c.n, parts)
		}
	}
}
