package traffic

// This file holds the vocabulary of generated traffic: user agents, site
// names, paths, sources with their referrers and UTM parameters. Every
// string here is plain ASCII without '"' or '\\', so the event encoder can
// copy it into JSON as it is (a test checks this).

// userAgent is a browser user agent with its weight (relative share of
// human sessions).
type userAgent struct {
	ua     string
	weight int
}

// humanAgents are realistic browser user agents: Safari on Mac (the guide's
// own first), Chrome on Windows and Mac, Edge, Firefox, mobile Safari on
// iPhone, Chrome on Android, Samsung Internet, iPad and Android tablets.
var humanAgents = []userAgent{
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 6},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", 4},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 16},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", 12},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", 10},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", 8},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0", 4},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", 1},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0", 1},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 2},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", 12},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/125.0.6422.80 Mobile/15E148 Safari/604.1", 2},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 11},
	{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", 2},
	{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 2},
	{"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 1},
}

// guideAgent is the user agent of the guide's new_lead sample (Safari on
// Mac OS); it is humanAgents[0].
const guideAgent = 0

// botAgents are crawler user agents; each names itself as a bot, crawler,
// spider or link-preview fetcher.
var botAgents = []string{
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.118 Safari/537.36",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
	"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	"DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
	"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
	"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
}

// Site names: a workspace's site is www.<first><second>.<tld>.
var (
	siteFirst  = []string{"bright", "north", "blue", "cloud", "data", "lead", "pipe", "signal", "spark", "stack", "true", "clear", "swift", "iron", "open", "peak"}
	siteSecond = []string{"lane", "scope", "forge", "metrics", "works", "flow", "base", "desk", "point", "grid", "loop", "stream", "line", "labs"}
	siteTLD    = []string{"com", "io", "co", "com", "com", "ai", "de", "co.uk"}
)

// Paths of a site. Landing pages are chosen by source; later pages by
// navigation (navPaths, with weights in navWeights).
var paths = []string{
	"/",                                   // 0
	"/pricing",                            // 1
	"/features",                           // 2
	"/features/visitor-identification",    // 3
	"/features/crm-sync",                  // 4
	"/integrations",                       // 5
	"/integrations/salesforce",            // 6
	"/integrations/hubspot",               // 7
	"/customers",                          // 8
	"/customers/northwind-logistics",      // 9
	"/about",                              // 10
	"/careers",                            // 11
	"/contact",                            // 12
	"/demo",                               // 13
	"/blog",                               // 14
	"/blog/b2b-lead-generation-guide",     // 15
	"/blog/identify-anonymous-visitors",   // 16
	"/blog/account-based-marketing-2024",  // 17
	"/blog/gdpr-and-visitor-tracking",     // 18
	"/docs/getting-started",               // 19
	"/docs/api/webhooks",                  // 20
	"/security",                           // 21
	"/compare/leadforensics-alternatives", // 22
	"/compare/leadfeeder-vs-us",           // 23
	"/lp/website-visitor-tracking",        // 24
	"/lp/enterprise-demo",                 // 25
	"/partners",                           // 26
	"/webinars/pipeline-from-traffic",     // 27
}

// navPaths are the pages visitors move on to, and how likely each is.
var (
	navPaths   = []int16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 21, 26}
	navWeights = []int{6, 14, 8, 6, 4, 5, 3, 3, 5, 3, 3, 2, 3, 6, 3, 2, 2, 2, 1, 2, 1}
)

// source is where a session comes from: its referrer, the UTM query of its
// landing page, an ad click id, and the pages it lands on.
type source struct {
	name      string
	weight    int
	referrers []string // "" means none (direct, email clients)
	queries   []string // "" means none
	clickID   string   // query parameter of an ad click id, e.g. "gclid"; "" none
	landings  []int16  // indexes into paths
}

var (
	campaigns = []string{"brand_search_eu", "competitor_leadforensics", "retargeting_q2", "abm_enterprise", "webinar_may", "global_eng_search_prospecting"}
	terms     = []string{"website+visitor+tracking", "b2b+lead+generation", "identify+website+visitors", "leadfeeder+alternative", "ip+to+company", "account+based+marketing"}
)

// utm builds every "utm_source=..&utm_medium=..[&utm_campaign=..[&utm_term=..]]"
// combination for a source.
func utm(src, medium string, withCampaign, withTerm bool) []string {
	base := "utm_source=" + src + "&utm_medium=" + medium
	if !withCampaign {
		return []string{base}
	}
	var out []string
	for _, c := range campaigns {
		q := base + "&utm_campaign=" + c
		if !withTerm {
			out = append(out, q)
			continue
		}
		for _, t := range terms {
			out = append(out, q+"&utm_term="+t)
		}
	}
	return out
}

// newSources returns the traffic sources with their shares of sessions.
func newSources() []source {
	return []source{
		{name: "direct", weight: 26, referrers: []string{""}, queries: []string{""}, landings: []int16{0, 0, 0, 1, 19, 13}},
		{name: "google", weight: 24, referrers: []string{"https://www.google.com/", "https://www.google.de/", "https://www.google.co.uk/", "https://www.google.fi/"},
			queries: []string{""}, landings: []int16{0, 15, 16, 17, 18, 3, 22, 23, 1}},
		{name: "bing", weight: 3, referrers: []string{"https://www.bing.com/"}, queries: []string{""}, landings: []int16{0, 15, 1}},
		{name: "duckduckgo", weight: 2, referrers: []string{"https://duckduckgo.com/"}, queries: []string{""}, landings: []int16{0, 16, 21}},
		{name: "google-ads", weight: 12, referrers: []string{"https://www.google.com/"}, queries: utm("google", "cpc", true, true),
			clickID: "gclid", landings: []int16{24, 25, 1, 22, 13}},
		{name: "bing-ads", weight: 2, referrers: []string{"https://www.bing.com/"}, queries: utm("bing", "cpc", true, false),
			clickID: "msclkid", landings: []int16{24, 1}},
		{name: "linkedin", weight: 5, referrers: []string{"https://www.linkedin.com/"}, queries: utm("linkedin", "social", false, false),
			landings: []int16{15, 17, 27, 11}},
		{name: "linkedin-ads", weight: 4, referrers: []string{"https://www.linkedin.com/"}, queries: utm("linkedin", "paid_social", true, false),
			clickID: "li_fat_id", landings: []int16{25, 27, 24}},
		{name: "newsletter", weight: 5, referrers: []string{"", "https://mail.google.com/"}, queries: utm("newsletter", "email", true, false),
			landings: []int16{15, 16, 17, 27}},
		{name: "referral", weight: 10, referrers: []string{"https://www.g2.com/products/leadflow/reviews", "https://www.capterra.com/p/214733/reviews/",
			"https://news.ycombinator.com/", "https://www.reddit.com/r/sales/", "https://medium.com/"},
			queries: []string{"", "utm_source=g2&utm_medium=referral"}, landings: []int16{0, 1, 8, 22}},
		{name: "twitter", weight: 3, referrers: []string{"https://t.co/"}, queries: []string{"", "utm_source=twitter&utm_medium=social"}, landings: []int16{15, 16, 27}},
		{name: "partner", weight: 4, referrers: []string{"https://www.hubspot.com/", "https://appexchange.salesforce.com/"},
			queries: []string{"utm_source=partner&utm_medium=referral"}, landings: []int16{7, 6, 5}},
	}
}

// guideReferrer is the referrer of the guide's new_lead pageview.
const guideReferrer = "https://www.google.com/"
