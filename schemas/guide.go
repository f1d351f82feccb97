package schemas

import "time"

// This file holds the guide's sample data as Go values. Each function returns
// a fresh value, so callers may modify what they get.

// GuideNetcontrol returns the company of the guide's new_lead sample,
// Netcontrol Group (netcontrol.com). The guide shows no phone: Phone is nil.
func GuideNetcontrol() Company {
	return Company{
		Name:          "Netcontrol Group",
		Domain:        "netcontrol.com",
		Website:       new("https://netcontrol.com"),
		Industry:      new("Machinery"),
		FoundedYear:   new("1991"),
		EmployeeRange: new("51-200 employees"),
		Location:      new("Karvaamokuja 3, 00380 Helsinki, Finland"),
		Description: new("Netcontrol provides products and services for electric utilities, district heating companies, " +
			"power companies, and energy intensive industry. The product portfolio covers SCADA, energy management, " +
			"production management & optimization systems, Remote Terminal Units compliant with the latest standards " +
			"and protocols, as well as data communication equipment."),
		Geo: Geo{
			Country:      new("Finland"),
			CountryCode:  new("FI"),
			State:        new("Uusimaa"),
			StateCode:    new("Uusimaa"),
			PostalCode:   new("00380"),
			City:         new("Helsinki"),
			Street:       new("Karvaamokuja"),
			StreetNumber: new("3"),
		},
		Profiles: Profiles{
			Crunchbase: Profile{Handle: new("netcontrol"), URL: new("https://crunchbase.com/organization/netcontrol")},
			LinkedIn:   Profile{Handle: new("netcontrol-oy"), URL: new("https://linkedin.com/companies/netcontrol-oy")},
			Twitter:    Profile{Handle: new("NetcontrolGroup"), URL: new("https://twitter.com/NetcontrolGroup")},
		},
	}
}

// GuideMDX returns the company of the guide's contact_revealed sample, MDX
// Technology Limited (mdxtechnology.com), with its phone.
func GuideMDX() Company {
	return Company{
		Name:          "MDX Technology Limited",
		Domain:        "mdxtechnology.com",
		Website:       new("https://mdxtechnology.com"),
		Industry:      new("Financial Services"),
		FoundedYear:   new("2010"),
		EmployeeRange: new("11-50 employees"),
		AnnualRevenue: new(float64(7867000)),
		Location:      new("14 Hewett St, London EC2A 3NP, UK"),
		Description: new("MDX Technology serves over 35 of the world's leading financial institutions. Our enterprise " +
			"ready, codeless workflow platform enables clients to quickly develop applications on-the-fly for trade " +
			"collaboration, pre/post-trade workflows, compliance reporting and much more. The MDX platform is powered " +
			"by extensive connectivity with over 300 pre-built connectors into formats such as Excel, Symphony, Python, " +
			"web and Java to name a few. Clients include TP ICAP, HSBC, MarketAxess, Marex, ICE and RBC. The company is " +
			"headquartered in London, with offices in North America and representation in the AsiaPac region."),
		Phone: new("+44 20 7469 2610"),
		Geo: Geo{
			Country:      new("United Kingdom of Great Britain and Northern Ireland"),
			CountryCode:  new("GB"),
			State:        new("England"),
			StateCode:    new("England"),
			PostalCode:   new("EC2A 3NP"),
			City:         new("London"),
			Street:       new("Hewett Street"),
			StreetNumber: new("14"),
		},
		Profiles: Profiles{
			Crunchbase: Profile{Handle: new("mdx-technology"), URL: new("https://crunchbase.com/organization/mdx-technology")},
			LinkedIn:   Profile{Handle: new("mdx-technology-limited"), URL: new("https://linkedin.com/companies/mdx-technology-limited")},
			Twitter:    Profile{Handle: new("MDXTechnology"), URL: new("https://twitter.com/MDXTechnology")},
		},
	}
}

// GuideJohnDoe returns the subject of the guide's contact_revealed sample:
// John Doe, VP, Sales at MDX Technology. The guide's web page shows the
// email as "[email protected]" (an email-obfuscation artefact); the value
// used here is john.doe@mdxtechnology.com.
func GuideJohnDoe() Contact {
	return Contact{
		FirstName:   "John",
		LastName:    "Doe",
		Headline:    new("VP, Sales at MDX Technology"),
		LinkedInURL: new("http://www.linkedin.com/in/john-doe"),
		Email:       "john.doe@mdxtechnology.com",
		Title:       new("VP, Sales"),
		Location:    new("London, England, United Kingdom"),
		Company:     GuideMDX(),
	}
}

// GuideNetcontrolVisitorLocation returns the visitor location of the guide's
// new_lead session (Lahti, FI), which the sample IP database gives
// 198.51.100.0/24.
func GuideNetcontrolVisitorLocation() Location {
	return Location{
		City:        new("Lahti"),
		CountryCode: new("FI"),
		Region:      new("Etela-Pohjanmaa"),
		Latitude:    new(63.216671),
		Longitude:   new(22.85),
	}
}

// GuideNetcontrolHit returns the hit of the guide's new_lead pageview as
// the enrich stage emits it (Safari on a Mac desktop, from Netcontrol's
// business network).
func GuideNetcontrolHit() Hit {
	ev := GuideNetcontrolEvent()
	h := ev.Hit()
	h.Browser, h.OperatingSystem, h.DeviceType = "Safari", "Mac OS", "desktop"
	loc := GuideNetcontrolVisitorLocation()
	h.Location = &loc
	h.CompanyDomain = "netcontrol.com"
	h.NetworkType = NetworkBusiness
	return h
}

// GuidePageURL is the page URL of the guide's new_lead pageview, cut off
// after "utm_" exactly as the guide shows it.
const GuidePageURL = "https://www.snitcher.com/snitcher-vs-leadforensics?utm_source=google&utm_medium=cpc" +
	"&utm_campaign=20933837881&utm_content=158349409355&utm_term=leadforensics&utm_term=leadforensics" +
	"&utm_campaign=global_eng_search_prospecting_comp_web_all_theme_exact_broader&utm_source=adwords&utm_"

// GuideHitTime returns the time of the guide's new_lead sample hit,
// 2024-05-15 10:55:50 UTC.
func GuideHitTime() time.Time { return time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC) }

// GuideNetcontrolLead returns the subject of the guide's new_lead sample:
// lead 31519477, Netcontrol Group, one session with one pageview.
func GuideNetcontrolLead() Lead {
	at := GuideHitTime()
	path := GuidePageURL[len("https://www.snitcher.com"):]
	return Lead{
		ID:        31519477,
		FirstSeen: NewTimestamp(at),
		LastSeen:  NewTimestamp(at),
		Company:   GuideNetcontrol(),
		RecentSessions: []Session{{
			StartedAt:       NewSessionTime(at),
			Source:          new("https://www.google.com/"),
			Browser:         new("Safari"),
			DeviceType:      new("desktop"),
			OperatingSystem: new("Mac OS"),
			Pageviews: []Pageview{{
				URL:       GuidePageURL,
				Host:      "www.snitcher.com",
				Path:      path,
				TimeSpent: 14,
				VisitedAt: NewSessionTime(at),
			}},
			TotalDuration: 14,
			Location:      GuideNetcontrolVisitorLocation(),
		}},
	}
}

// GuideNetcontrolEvent returns a raw event (DESIGN 1.2) that produces the
// guide's new_lead session: a Safari on Mac OS pageview of GuidePageURL from
// 198.51.100.23 (Netcontrol's network in the sample data), referred by
// Google, 14 seconds, at GuideHitTime. It is decoded and validated.
func GuideNetcontrolEvent() RawEvent {
	ev := RawEvent{
		EventID:     "0b7c6f0e-9a4e-4c1e-8f55-5d2b1c9e7a01",
		WorkspaceID: "ws_123",
		SessionID:   "s_9f1c",
		VisitorID:   "v_77",
		Type:        TypePageview,
		IP:          "198.51.100.23",
		UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 " +
			"(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		URL:       GuidePageURL,
		Referrer:  "https://www.google.com/",
		TimeSpent: 14,
		Timestamp: "2024-05-15T10:55:50Z",
	}
	if err := ev.Validate(); err != nil {
		panic("schemas: guide event does not validate: " + err.Error())
	}
	return ev
}
