"""The fictional web sites the sample pages live on, each with its own layout and server.

A real crawl mixes many sites, and a site's choices are consistent across its pages: one
layout, one server, one character encoding and one way of declaring it. Keeping those
choices per site reproduces that, and gives the extractor and the charset decoder the cases
they must handle, each on several pages:

- `header`: charset only in the HTTP Content-Type header;
- `meta`: `<meta charset>` only; `http-equiv`: `<meta http-equiv="Content-Type">` only;
- `header+meta`: both, agreeing; `none`: declared nowhere, so it must be detected;
- `wrong-header`: the server claims UTF-8 and the page's `<meta>` names the true charset
  (a server default over legacy files; the bytes are not valid UTF-8, so it is correctable).

Domains are invented; none is meant to name a real site.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    domain: str
    lang: str
    layout: str  # news | blog | forum | docs | legacy (layouts.py), or spam (spam.py's own markup)
    name: str
    server: str
    encoding: str = "utf-8"  # an IANA/WHATWG label Python also accepts
    charset_style: str = "header+meta"
    scheme: str = "https"


SITES: tuple[Site, ...] = (
    Site("riverbend-gazette.com", "en", "news", "The Riverbend Gazette", "nginx"),
    Site("northfieldpost.co.uk", "en", "news", "Northfield Post", "cloudflare", charset_style="meta"),
    Site("thequietkitchen.net", "en", "blog", "The Quiet Kitchen", "Apache/2.4.41 (Ubuntu)"),
    Site("trailnotes.org", "en", "blog", "Trail Notes", "nginx/1.18.0", charset_style="header"),
    Site("askaneighbour.net", "en", "forum", "Ask a Neighbour Forums", "Apache", charset_style="http-equiv"),
    Site("cyclecommons.com", "en", "forum", "Cycle Commons", "LiteSpeed"),
    Site("handyfixes.info", "en", "docs", "HandyFixes Wiki", "nginx"),
    Site("stargazers-circle.org", "en", "legacy", "Stargazers Circle", "Apache/2.2.15 (CentOS)",
         encoding="windows-1252", charset_style="http-equiv", scheme="http"),
    Site("townlibraryfriends.org", "en", "docs", "Friends of the Town Library", "Microsoft-IIS/8.5"),
    Site("weekendwalker.co.uk", "en", "blog", "Weekend Walker", "cloudflare", charset_style="meta"),
    Site("stadtanzeiger-nord.de", "de", "news", "Stadtanzeiger Nord", "nginx"),
    Site("gartenfreunde-blog.de", "de", "blog", "Gartenfreunde", "Apache", encoding="ISO-8859-1",
         charset_style="header"),
    Site("wanderforum-mittelgebirge.de", "de", "forum", "Wanderforum", "Apache/2.4.57 (Debian)"),
    Site("quotidien-du-quartier.fr", "fr", "news", "Le Quotidien du Quartier", "nginx", charset_style="meta"),
    Site("carnet-de-velo.fr", "fr", "blog", "Carnet de vélo", "Apache", encoding="windows-1252",
         charset_style="header+meta"),
    Site("diario-del-barrio.es", "es", "news", "Diario del Barrio", "cloudflare"),
    Site("huerto-en-la-azotea.es", "es", "blog", "Huerto en la azotea", "nginx", charset_style="meta"),
    Site("gorodskie-vesti.ru", "ru", "news", "Городские вести", "nginx", encoding="windows-1251", charset_style="meta"),
    Site("rybaki-forum.ru", "ru", "forum", "Форум рыбаков", "Apache/2.2.22", encoding="KOI8-R",
         charset_style="header", scheme="http"),
    Site("domashnie-sovety.ru", "ru", "legacy", "Домашние советы", "Apache", encoding="windows-1251",
         charset_style="wrong-header", scheme="http"),
    Site("novosti-rayona.ru", "ru", "blog", "Новости района", "nginx"),
    Site("shequ-xinwen.cn", "zh", "news", "社区新闻网", "nginx", encoding="GB2312", charset_style="http-equiv"),
    Site("shenghuo-bbs.com.cn", "zh", "forum", "生活论坛", "Apache", encoding="GBK", charset_style="header",
         scheme="http"),
    Site("chengshi-zhinan.cn", "zh", "docs", "城市生活指南", "Tengine", encoding="GB18030", charset_style="meta"),
    Site("laojia-riji.com", "zh", "legacy", "老家日记", "Microsoft-IIS/6.0", encoding="GBK", charset_style="none",
         scheme="http"),
    Site("jiating-shenghuo.cn", "zh", "blog", "家庭生活", "nginx"),
    Site("machi-dayori.jp", "ja", "news", "まちだより", "Apache", encoding="Shift_JIS", charset_style="http-equiv"),
    Site("kurashi-no-techo.jp", "ja", "blog", "くらしの手帖ブログ", "nginx", encoding="EUC-JP",
         charset_style="header+meta"),
    Site("furusato-keijiban.jp", "ja", "legacy", "ふるさと掲示板", "Apache/2.0.52", encoding="Shift_JIS",
         charset_style="wrong-header", scheme="http"),
    Site("tiiki-jouhou.jp", "ja", "forum", "地域情報広場", "Apache", encoding="EUC-JP", charset_style="none",
         scheme="http"),
    Site("shumi-no-heya.jp", "ja", "docs", "趣味の部屋", "cloudflare"),
)

#: Hosts that serve only SEO spam; link farms point at each other.
SPAM_DOMAINS = (
    "best-cheap-deals-online.biz", "replica-watch-outlet.info", "top10-casino-bonus.xyz",
    "fast-payday-loans-now.top", "miracle-weightloss-pills.online", "discount-shoes-sale.shop",
)


def sites_for(lang: str) -> tuple[Site, ...]:
    return tuple(site for site in SITES if site.lang == lang)
