package demo

import (
	_ "embed"
	"strings"
)

// sampleIssue is the sample bulletin, shipped inside the binary so the
// demo needs no file of its own.
//
//go:embed sample/keji-qingbao-2024-07.md
var sampleIssue []byte

// topics tag the sample's five articles: every article gets at least one
// topic, none gets all, and 芯片与半导体 matches no article of this issue,
// so its readers show what "nothing for you this time" looks like.
var topics = []struct{ slug, name, keywords string }{
	{"yanglao", "养老科技", "养老,老年,银发"},
	{"yiyao", "生物医药", "生物医药,医疗器械,药品"},
	{"zhuanhua", "成果转化", "成果转化,产学研"},
	{"kechuang", "独角兽与科创", "独角兽,科创高地"},
	{"xinzhi", "新质生产力", "新质生产力"},
	{"xinpian", "芯片与半导体", "芯片,半导体,集成电路"},
}

type person struct{ email, name, topics, status string }

// people: 36 readers with different choices; one pending (never
// confirmed), one unsubscribed, and three whose topics have no article in
// this issue.
var people = []person{
	{"wang.fang@example.cn", "王芳", "all", ""},
	{"li.na@example.cn", "李娜", "yanglao", ""},
	{"zhang.wei@example.com", "张伟", "yiyao", ""},
	{"liu.yang@example.net", "刘洋", "zhuanhua", ""},
	{"chen.jing@example.org", "陈静", "kechuang", ""},
	{"yang.min@example.cn", "杨敏", "xinzhi", ""},
	{"zhao.lei@example.com", "赵磊", "xinpian", ""},
	{"huang.li@example.cn", "黄丽", "yanglao;yiyao", ""},
	{"zhou.qiang@example.net", "周强", "zhuanhua;kechuang", ""},
	{"wu.xia@example.org", "吴霞", "xinzhi;xinpian", ""},
	{"xu.jun@example.cn", "徐军", "all", ""},
	{"sun.hua@example.com", "孙华", "yiyao;xinzhi", ""},
	{"ma.chao@example.cn", "马超", "xinpian", ""},
	{"zhu.lin@example.net", "朱琳", "yanglao;zhuanhua", ""},
	{"hu.bo@example.org", "胡波", "kechuang;xinzhi", ""},
	{"guo.ying@example.cn", "郭英", "all", ""},
	{"he.tao@example.com", "何涛", "yanglao", ""},
	{"lin.xue@example.cn", "林雪", "yiyao;zhuanhua;kechuang", ""},
	{"luo.gang@example.net", "罗刚", "xinzhi", ""},
	{"gao.yan@example.org", "高燕", "zhuanhua", ""},
	{"liang.hui@example.cn", "梁慧", "yanglao;xinpian", ""},
	{"song.jie@example.com", "宋杰", "kechuang", ""},
	{"zheng.hong@example.cn", "郑红", "all", ""},
	{"xie.feng@example.net", "谢峰", "yiyao", ""},
	{"han.mei@example.org", "韩梅", "none", ""},
	{"tang.ming@example.cn", "唐明", "zhuanhua;xinzhi", ""},
	{"feng.yu@example.com", "冯宇", "yanglao;yiyao;xinzhi", ""},
	{"deng.qian@example.cn", "邓倩", "kechuang;xinpian", ""},
	{"cao.rui@example.net", "曹睿", "all", ""},
	{"peng.fei@example.org", "彭飞", "xinzhi;zhuanhua;yiyao", ""},
	{"ada.lovelace@example.org", "Ada Lovelace", "yiyao", ""},
	{"tom.becker@example.com", "Tom Becker", "kechuang;xinzhi", ""},
	{"qian.lu@example.com", "钱璐", "xinpian;yanglao", ""},
	{"jiang.tao@example.cn", "蒋涛", "zhuanhua;kechuang;xinzhi", ""},
	{"xu.jing@example.cn", "许静", "all", "pending"},
	{"lu.di@example.cn", "卢迪", "all", "unsubscribed"},
}

// topicNames names topic slugs for the printed summary.
func topicNames(slugs []string) string {
	if len(slugs) == 0 {
		return "every reader"
	}
	var names []string
	for _, s := range slugs {
		name := s
		for _, t := range topics {
			if t.slug == s {
				name = t.name
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}
