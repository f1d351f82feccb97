// Package useragent turns a browser's User-Agent header into the browser,
// operating system and device type the webhooks show ("Safari", "Mac OS",
// "desktop"), and recognises bots: crawlers, headless browsers, monitoring
// and preview fetchers, and HTTP libraries.
//
// The parser is a few ordered tables of literal tokens matched with
// strings.Contains: no regular expressions, no allocation, and a result
// for any input (unknown parts are ""). It is meant to be cached by the
// caller (the enrich stage keeps an LRU by User-Agent), so it favours
// being right and easy to extend over being clever; a miss costs a few
// microseconds for a 1 KiB header.
//
// Matching is by the first rule that applies, in table order: a browser
// built on Chrome says "Chrome/" as well as its own token, so its own
// token comes first in the table.
package useragent

import (
	"bytes"
	"strings"
)

// Browser names, as the guide and webhooks spell them.
const (
	BrowserChrome          = "Chrome"
	BrowserChromeWebView   = "Chrome WebView"
	BrowserChromium        = "Chromium"
	BrowserSafari          = "Safari"
	BrowserFirefox         = "Firefox"
	BrowserEdge            = "Edge"
	BrowserOpera           = "Opera"
	BrowserSamsung         = "Samsung Internet"
	BrowserYandex          = "Yandex Browser"
	BrowserUC              = "UC Browser"
	BrowserVivaldi         = "Vivaldi"
	BrowserBrave           = "Brave"
	BrowserDuckDuckGo      = "DuckDuckGo"
	BrowserMIUI            = "MIUI Browser"
	BrowserHuawei          = "Huawei Browser"
	BrowserSilk            = "Silk"
	BrowserFacebook        = "Facebook"
	BrowserInstagram       = "Instagram"
	BrowserGoogleApp       = "Google App"
	BrowserInternetExplore = "Internet Explorer"
	BrowserAndroid         = "Android Browser"
)

// Operating system names, as the guide and webhooks spell them.
const (
	OSWindows      = "Windows"
	OSWindowsPhone = "Windows Phone"
	OSMacOS        = "Mac OS"
	OSiOS          = "iOS"
	OSAndroid      = "Android"
	OSLinux        = "Linux"
	OSChromeOS     = "Chrome OS"
	OSHarmonyOS    = "HarmonyOS"
	OSTizen        = "Tizen"
	OSKaiOS        = "KaiOS"
	OSWebOS        = "webOS"
	OSFreeBSD      = "FreeBSD"
	OSOpenBSD      = "OpenBSD"
	OSPlayStation  = "PlayStation"
)

// Device types. The guide shows "desktop"; "tv" and "console" are added
// for smart TVs and game consoles rather than calling them desktops.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceTV      = "tv"
	DeviceConsole = "console"
)

// Agent is what a User-Agent says. Strings are the constants above, or ""
// when unknown. A bot has Bot set and no other field.
type Agent struct {
	Browser         string
	OperatingSystem string
	DeviceType      string
	Bot             bool
}

// MaxLen is the longest User-Agent Parse looks at in full; the raw-event
// decoder caps user_agent at the same 1 KiB. Longer input is judged by its
// first MaxLen bytes.
const MaxLen = 1024

// Parse parses a User-Agent header. An empty ua gives the zero Agent (not
// a bot: whether a missing header is one is the caller's decision).
//
// A User-Agent is a bot when it does not start with "Mozilla/" or "Opera/"
// (every browser that runs a tracking script does; HTTP libraries, curl,
// link-preview fetchers and app HTTP stacks do not), or when it contains a
// bot token, case-insensitively (see botTokens: "bot", "crawl", "spider",
// "headless", "lighthouse", "python", "+http", ...), unless the token is
// part of a known false positive such as the "Cubot" phone brand.
func Parse(ua string) Agent {
	if ua == "" {
		return Agent{}
	}
	if len(ua) > MaxLen {
		ua = ua[:MaxLen]
	}
	if isBot(ua) {
		return Agent{Bot: true}
	}
	os := first(ua, osRules)
	return Agent{Browser: browser(ua, os), OperatingSystem: os, DeviceType: device(ua, os)}
}

// rule maps a literal token to a name.
type rule struct {
	token, name string
}

// first returns the name of the first rule whose token ua contains.
func first(ua string, rules []rule) string {
	for _, r := range rules {
		if strings.Contains(ua, r.token) {
			return r.name
		}
	}
	return ""
}

// browserRules are tried in order; browsers that also say "Chrome/",
// "Safari/" or "Firefox/" come before those.
var browserRules = []rule{
	{"Edg/", BrowserEdge}, {"EdgA/", BrowserEdge}, {"EdgiOS/", BrowserEdge}, {"Edge/", BrowserEdge},
	{"OPR/", BrowserOpera}, {"OPiOS/", BrowserOpera}, {"OPT/", BrowserOpera}, {"OPX/", BrowserOpera},
	{"Opera Mini", BrowserOpera}, {"Opera/", BrowserOpera}, {"Opera ", BrowserOpera},
	{"SamsungBrowser/", BrowserSamsung},
	{"YaBrowser/", BrowserYandex}, {"YaSearchBrowser/", BrowserYandex},
	{"UCBrowser/", BrowserUC}, {"UCWEB", BrowserUC},
	{"Vivaldi/", BrowserVivaldi},
	{"Brave/", BrowserBrave},
	{"DuckDuckGo/", BrowserDuckDuckGo}, {"Ddg/", BrowserDuckDuckGo},
	{"MiuiBrowser/", BrowserMIUI},
	{"HuaweiBrowser/", BrowserHuawei},
	{"Silk/", BrowserSilk},
	{"FBAN/", BrowserFacebook}, {"FBAV/", BrowserFacebook}, {"FB_IAB/", BrowserFacebook},
	{"Instagram ", BrowserInstagram},
	{"GSA/", BrowserGoogleApp},
	{"FxiOS/", BrowserFirefox}, {"Firefox/", BrowserFirefox},
	{"CriOS/", BrowserChrome},
	{"Chromium/", BrowserChromium},
	{"Chrome/", BrowserChrome},
	{"MSIE ", BrowserInternetExplore}, {"Trident/", BrowserInternetExplore},
}

func browser(ua, os string) string {
	name := first(ua, browserRules)
	switch {
	case name == BrowserChrome && strings.Contains(ua, "; wv)"):
		return BrowserChromeWebView // an Android app's embedded browser
	case name != "":
		return name
	case strings.Contains(ua, "Safari/") && (strings.Contains(ua, "Version/") || os == OSiOS):
		if os == OSAndroid {
			return BrowserAndroid // the pre-Chrome stock browser
		}
		return BrowserSafari
	}
	return "" // e.g. an iOS app's web view: AppleWebKit without Safari/
}

// osRules are tried in order: iOS says "like Mac OS X", Android and the TV
// systems say "Linux", Xbox says "Windows NT".
var osRules = []rule{
	{"Windows Phone", OSWindowsPhone},
	{"Windows", OSWindows},
	{"iPhone", OSiOS}, {"iPad", OSiOS}, {"iPod", OSiOS},
	{"CrOS", OSChromeOS},
	{"HarmonyOS", OSHarmonyOS},
	{"KAIOS", OSKaiOS}, {"KaiOS", OSKaiOS},
	{"Tizen", OSTizen},
	{"Web0S", OSWebOS}, {"webOS", OSWebOS},
	{"Android", OSAndroid},
	{"Macintosh", OSMacOS}, {"Mac OS X", OSMacOS},
	{"PlayStation", OSPlayStation},
	{"FreeBSD", OSFreeBSD}, {"OpenBSD", OSOpenBSD},
	{"Linux", OSLinux}, {"X11", OSLinux},
}

var (
	tvTokens = []string{
		"SmartTV", "SMART-TV", "Smart-TV", "SMARTTV", "GoogleTV", "Android TV", "AppleTV", "CrKey",
		"HbbTV", "Web0S", "BRAVIA", "; AFT", "Roku", "NetCast",
	}
	consoleTokens = []string{"PlayStation", "Xbox", "Nintendo"}
	tabletTokens  = []string{"iPad", "Tablet", "Kindle", "Silk/", "PlayBook"}
	mobileTokens  = []string{
		"iPhone", "iPod", "Mobi", "Opera Mini", "Windows Phone", "IEMobile", "BlackBerry", "BB10",
		"KAIOS", "KaiOS",
	}
)

func device(ua, os string) string {
	switch {
	case containsAny(ua, tvTokens):
		return DeviceTV
	case containsAny(ua, consoleTokens):
		return DeviceConsole
	case os != OSWindows && containsAny(ua, tabletTokens): // "Tablet PC" on Windows is a touch laptop
		return DeviceTablet
	case containsAny(ua, mobileTokens):
		return DeviceMobile
	case os == OSAndroid || os == OSHarmonyOS:
		return DeviceTablet // Android phones say "Mobile", tablets do not
	}
	return DeviceDesktop
}

func containsAny(s string, tokens []string) bool {
	for _, t := range tokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// botTokens are matched against the lower-cased User-Agent. Most crawlers
// say "bot", "crawl" or "spider" and link to a page about themselves
// ("+http"); the rest are named.
var botTokens = lowerTokens(
	"bot", "crawl", "spider", "slurp", "scraper", "scrapy", "archiver", "fetcher", "feedfetcher",
	"+http", "http://", "https://", "@", // a contact address or URL in the header
	"headless", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver", "cypress", "prerender",
	"lighthouse", "pagespeed", "gtmetrix", "pingdom", "uptime", "statuscake", "site24x7", "monitor",
	"synthetic", "datadog", "newrelic", "checker", "validator", "preview", "facebookexternalhit",
	"facebookcatalog", "mediapartners-google", "google-inspectiontool", "googleother", "google-read-aloud",
	"apis-google", "chatgpt", "perplexity", "anthropic", "cohere-ai", "embedly", "vkshare",
	"python", "curl", "wget", "java/", "okhttp", "go-http-client", "node-fetch", "axios", "httpclient",
	"libwww", "guzzle", "postman", "insomnia", "scanner", "zgrab", "nmap", "masscan", "nuclei",
	"sqlmap", "nikto",
)

// botExceptions are tokens that contain a bot token but name a real device
// or browser; each is blanked out before the bot tokens are matched.
var botExceptions = lowerTokens("cubot")

func lowerTokens(ts ...string) [][]byte {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = []byte(strings.ToLower(t))
	}
	return out
}

func isBot(ua string) bool {
	if !strings.HasPrefix(ua, "Mozilla/") && !strings.HasPrefix(ua, "Opera/") {
		return true
	}
	var buf [MaxLen]byte
	lower := buf[:len(ua)]
	for i := 0; i < len(ua); i++ {
		c := ua[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	for _, ex := range botExceptions {
		for {
			i := bytes.Index(lower, ex)
			if i < 0 {
				break
			}
			for j := range ex {
				lower[i+j] = ' '
			}
		}
	}
	for _, t := range botTokens {
		if bytes.Contains(lower, t) {
			return true
		}
	}
	return false
}
