package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// newKejiEnv is a database with list keji and topics ai, chips, space.
func newKejiEnv(t *testing.T) map[string]string {
	t.Helper()
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh", "--tz", "Asia/Shanghai")
	mustRunCLI(t, env, "topic", "add", "ai", "--name", "人工智能", "--keywords", "AI,大模型,机器学习")
	mustRunCLI(t, env, "topic", "add", "chips", "--name", "芯片", "--keywords", "芯片,半导体")
	mustRunCLI(t, env, "topic", "add", "space", "--name", "航天")
	return env
}

func TestTopicCommands(t *testing.T) {
	env := testEnv(t)
	runSteps(t, env, []cliStep{
		{args: []string{"topic", "add", "ai", "--name", "AI"}, code: 1, errs: []string{"no list yet: create one with tidings list add"}},
		{args: []string{"list", "add", "keji", "--name", "科技情报", "--from", "news@example.org"}},
		{args: []string{"topic", "ls"}, errs: []string{"list keji has no topics yet"}},
		{args: []string{"topic", "add", "ai", "--name", "人工智能", "--keywords", "AI, 大模型 ,,机器学习"}, out: []string{"added topic ai to list keji"}},
		{args: []string{"topic", "add", "ai", "--name", "again"}, code: 1, errs: []string{"list keji: topic ai: already exists"}},
		{args: []string{"topic", "add", "AI-2", "--name", "x"}, code: 1, errs: []string{`topic slug "AI-2"`}},
		{args: []string{"topic", "add", "all", "--name", "x"}, code: 1, errs: []string{"reserved"}},
		{args: []string{"topic", "add", "chips"}, code: 2, errs: []string{"--name is required"}},
		{args: []string{"topic", "add", "chips", "--name", "芯片", "--list", "nope"}, code: 1, errs: []string{`list "nope": not found`}},
		{args: []string{"topic", "add", "chips", "--name", "芯片", "--list", "keji"}},
		{args: []string{"list", "add", "other", "--name", "Other", "--from", "o@example.org"}},
		{args: []string{"topic", "ls"}, code: 1, errs: []string{"several lists: use --list (keji, other)"}},
		{args: []string{"topic", "ls", "--list", "keji"}, out: []string{"SLUG", "人工智能", "AI,大模型,机器学习", "芯片"}},
		{args: []string{"topic", "set", "chips", "--list", "keji", "--keywords", "芯片,半导体,光刻"}, out: []string{"updated topic chips of list keji"}},
		{args: []string{"topic", "set", "chips", "--list", "keji"}, code: 2, errs: []string{"nothing to change"}},
		{args: []string{"topic", "set", "nope", "--list", "keji", "--name", "x"}, code: 1, errs: []string{`list keji: topic "nope": not found`}},
		{args: []string{"topic", "rm", "chips", "--list", "keji"}, out: []string{"deleted topic chips"}},
		{args: []string{"topic", "rm", "chips", "--list", "keji"}, code: 1, errs: []string{`topic "chips": not found`}},
		{args: []string{"topic", "rm"}, code: 2, errs: []string{"want SLUG"}},
	})
}

func TestTopicLsJSON(t *testing.T) {
	env := newKejiEnv(t)
	mustRunCLI(t, env, "sub", "add", "all@example.com")
	mustRunCLI(t, env, "sub", "add", "ai@example.com", "--topics", "ai")
	mustRunCLI(t, env, "sub", "add", "aichips@example.com", "--topics", "chips,ai")
	out := mustRunCLI(t, env, "topic", "ls", "--json")
	hasKeys(t, out, "slug", "name", "keywords", "subscribers")
	var got []struct {
		Slug        string
		Name        string
		Keywords    []string
		Subscribers int
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		Slug        string
		Name        string
		Keywords    []string
		Subscribers int
	}{
		{"ai", "人工智能", []string{"AI", "大模型", "机器学习"}, 3},
		{"chips", "芯片", []string{"芯片", "半导体"}, 2},
		{"space", "航天", []string{}, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("topic ls --json\n got %+v\nwant %+v", got, want)
	}
}
