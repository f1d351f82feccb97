package useragent_test

import (
	"strings"
	"testing"

	"github.com/leadflow/leadflow/schemas"
	ua "github.com/leadflow/leadflow/stages/enrich/useragent"
)

type want struct{ browser, os, device string }

// browsers are real User-Agent headers of people, across browsers,
// systems and devices.
var browsers = []struct {
	name, ua string
	want     want
}{
	{"guide safari mac", schemas.GuideNetcontrolEvent().UserAgent, want{"Safari", "Mac OS", "desktop"}},
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want{"Chrome", "Windows", "desktop"}},
	{"chrome mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want{"Chrome", "Mac OS", "desktop"}},
	{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want{"Chrome", "Linux", "desktop"}},
	{"chrome os", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want{"Chrome", "Chrome OS", "desktop"}},
	{"chrome android phone", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		want{"Chrome", "Android", "mobile"}},
	{"chrome android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		want{"Chrome", "Android", "tablet"}},
	{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
		want{"Chrome", "iOS", "mobile"}},
	{"android webview", "Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SD1A.210817.023; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/94.0.4606.71 Mobile Safari/537.36",
		want{"Chrome WebView", "Android", "mobile"}},
	{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
		want{"Safari", "iOS", "mobile"}},
	{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		want{"Safari", "iOS", "tablet"}},
	{"firefox windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
		want{"Firefox", "Windows", "desktop"}},
	{"firefox mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
		want{"Firefox", "Mac OS", "desktop"}},
	{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		want{"Firefox", "Linux", "desktop"}},
	{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
		want{"Firefox", "Android", "mobile"}},
	{"firefox android tablet", "Mozilla/5.0 (Android 4.4; Tablet; rv:41.0) Gecko/41.0 Firefox/41.0",
		want{"Firefox", "Android", "tablet"}},
	{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
		want{"Firefox", "iOS", "mobile"}},
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
		want{"Edge", "Windows", "desktop"}},
	{"edge android", "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
		want{"Edge", "Android", "mobile"}},
	{"edge ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15",
		want{"Edge", "iOS", "mobile"}},
	{"edge legacy", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
		want{"Edge", "Windows", "desktop"}},
	{"opera windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
		want{"Opera", "Windows", "desktop"}},
	{"opera presto", "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
		want{"Opera", "Windows", "desktop"}},
	{"opera mini", "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
		want{"Opera", "", "mobile"}},
	{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
		want{"Samsung Internet", "Android", "mobile"}},
	{"samsung internet tablet", "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
		want{"Samsung Internet", "Android", "tablet"}},
	{"yandex", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
		want{"Yandex Browser", "Windows", "desktop"}},
	{"vivaldi", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Vivaldi/6.7.3329.21",
		want{"Vivaldi", "Linux", "desktop"}},
	{"ie11", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
		want{"Internet Explorer", "Windows", "desktop"}},
	{"ie tablet pc laptop", "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; Tablet PC 2.0)",
		want{"Internet Explorer", "Windows", "desktop"}},
	{"facebook in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/458.0.0.34.108;FBBV/590347834]",
		want{"Facebook", "iOS", "mobile"}},
	{"ios web view", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		want{"", "iOS", "mobile"}},
	{"android stock browser", "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; HTC Sensation Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
		want{"Android Browser", "Android", "mobile"}},
	{"kindle silk", "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.1 like Chrome/124.0.6367.118 Safari/537.36",
		want{"Silk", "Android", "tablet"}},
	{"cubot phone is not a bot", "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		want{"Chrome", "Android", "mobile"}},
	{"samsung tv", "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1 (KHTML, like Gecko) Version/6.0 TV Safari/538.1",
		want{"Safari", "Tizen", "tv"}},
	{"xbox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/44.18363.8131",
		want{"Edge", "Windows", "console"}},
	{"playstation", "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
		want{"Safari", "PlayStation", "console"}},
	{"windows phone", "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977",
		want{"Edge", "Windows Phone", "mobile"}},
	{"unknown mozilla", "Mozilla/5.0 (compatible)", want{"", "", "desktop"}},
}

func TestParseBrowsers(t *testing.T) {
	for _, tc := range browsers {
		t.Run(tc.name, func(t *testing.T) {
			got := ua.Parse(tc.ua)
			w := ua.Agent{Browser: tc.want.browser, OperatingSystem: tc.want.os, DeviceType: tc.want.device}
			if got != w {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.ua, got, w)
			}
		})
	}
}

// bots are crawlers, headless browsers, monitors, preview fetchers and
// HTTP libraries.
var bots = []string{
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.155 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.155 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.0; +https://openai.com/gptbot",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 PTST/240501.120221 Chrome-Lighthouse",
	"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
	"Mozilla/5.0 (compatible; Pingdom.com_bot_version_1.4_(http://www.pingdom.com/))",
	"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
	"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
	"Twitterbot/1.0",
	"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
	"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
	"WhatsApp/2.23.20.0",
	"curl/8.4.0",
	"Wget/1.21.4",
	"python-requests/2.31.0",
	"Python-urllib/3.11",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
	"axios/1.6.8",
	"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
	"Java/17.0.2",
	"Apache-HttpClient/4.5.14 (Java/17.0.8)",
	"PostmanRuntime/7.37.3",
	"Scrapy/2.11.1 (+https://scrapy.org)",
	"Mozilla/5.0 zgrab/0.x",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 (compatible; GoogleOther)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36; compatible; ChatGPT-User/1.0; +https://openai.com/bot",
	"Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer",
	"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0; site24x7)",
	"x",
}

func TestParseBots(t *testing.T) {
	for _, s := range bots {
		if got := ua.Parse(s); got != (ua.Agent{Bot: true}) {
			t.Errorf("Parse(%q) = %+v, want a bot", s, got)
		}
	}
}

func TestParseEmptyIsUnknownNotBot(t *testing.T) {
	if got := ua.Parse(""); got != (ua.Agent{}) {
		t.Fatalf("Parse(\"\") = %+v, want the zero Agent", got)
	}
}

func TestParseLongInput(t *testing.T) {
	// Longer than MaxLen: judged by the first MaxLen bytes, never a panic.
	long := browsers[1].ua + strings.Repeat(" x", ua.MaxLen)
	if got := ua.Parse(long); got.Browser != "Chrome" || got.Bot {
		t.Errorf("Parse(long Chrome) = %+v", got)
	}
	tail := strings.Repeat("a", ua.MaxLen) + " Googlebot"
	if got := ua.Parse("Mozilla/5.0 " + tail); got.Bot {
		t.Errorf("a bot token after MaxLen counted: %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range browsers {
		f.Add(b.ua)
	}
	for _, b := range bots {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := ua.Parse(s)
		if a.Bot && (a.Browser != "" || a.OperatingSystem != "" || a.DeviceType != "") {
			t.Fatalf("bot with details: %+v", a)
		}
		if s != "" && !a.Bot && a.DeviceType == "" {
			t.Fatalf("non-bot %q without a device type", s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := browsers[1].ua
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		ua.Parse(s)
	}
}
