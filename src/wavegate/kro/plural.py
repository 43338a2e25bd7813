"""The plural kro gives a kind: `flect.Pluralize(strings.ToLower(kind))`, gobuffalo/flect v1.0.3.

kro names the CRD it generates `<plural>.<group>` with this plural, so an offline tool that wants
the exact CRD name has to reproduce flect, quirks included. This is a re-implementation of the
behaviour of flect v1.0.3 (the version kro's go.mod pins), written from its rules:

1. The word is split into parts (`toParts`); only the last part is inflected. kro passes a
   lowercased kind, which is one part, except that a word whose upper-case form is one of flect's
   acronyms (`dns`, `api`, `ip`, ...) becomes that acronym in upper case.
2. An exact dictionary hit on the whole input: singular -> its plural; a known plural -> unchanged.
3. The same two lookups on the lowercased last part.
4. The first matching suffix rule, compared **case-sensitively** against the last part. The rule
   list is built the way flect's `init()` builds it: every suffix pair `(s, p)` inserts the rule
   `s -> p` and, before it, a no-op rule for `p` (a word that already ends like a plural is left
   alone, which is why `idea` and `area` stay as they are); the dictionary's compound words come
   first, the last dictionary entry first of all.
5. A word ending in `s` is returned unchanged; otherwise `s` is appended.

The replacement (`ReplaceSuffix`) trims the *last part* from the *original* string. For an
acronym such as `dns` the last part is `DNS`, which is not a suffix of `dns`, so flect returns
`dnsDNSes`: kro really generates that plural, and the API server rejects the CRD because a plural
must be a lowercase DNS label. `plural_problem` says so.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from wavegate.regex import lazy_compile

# flect acronyms.go (baseAcronyms). Lookups use strings.ToUpper, so the mixed-case entries can
# never match; they are kept to show the table is complete.
_ACRONYMS = frozenset("""
OK UTF8 HTML JSON JWT ID UUID SQL ACK ACL ADSL AES ANSI API ARP ATM BGP BSS CCITT CHAP CIDR CIR CLI
CPE CPU CRC CRT CSMA CMOS DCE DEC DES DHCP DNS DRAM DSL DSLAM DTE DMI EHA EIA EIGRP EOF ESS FCC FCS
FDDI FTP GBIC gbps GEPOF HDLC HTTP HTTPS IANA ICMP IDF IDS IEEE IETF IMAP IP IPS ISDN ISP kbps LACP
LAN LAPB LAPF LLC MAC Mbps MC MDF MIB MoCA MPLS MTU NAC NAT NBMA NIC NRZ NRZI NVRAM OSI OSPF OUI PAP
PAT PC PIM PCM PDU POP3 POTS PPP PPTP PTT PVST RAM RARP RFC RIP RLL ROM RSTP RTP RCP SDLC SFD SFP
SLARP SLIP SMTP SNA SNAP SNMP SOF SRAM SSH SSID STP SYN TDM TFTP TIA TOFU UDP URL URI USB UTP VC
VLAN VLSM VPN W3C WAN WEP WiFi WPA WWW
""".split())

# flect plural_rules.go `dictionary`, in order: (singular, plural, alternative, flags), where the
# flags are u(nidirectional), c (uncountable: plural = singular) and x (exact: no compound rule).
_DICTIONARY: tuple[tuple[str, str, str, str], ...] = (
    ("aircraft", "aircraft", "", ""), ("beef", "beef", "beefs", ""), ("bison", "bison", "", ""),
    ("blues", "blues", "", "u"), ("chassis", "chassis", "", ""), ("deer", "deer", "", ""),
    ("fish", "fish", "fishes", ""), ("moose", "moose", "", ""), ("police", "police", "", ""),
    ("salmon", "salmon", "salmons", ""), ("series", "series", "", ""), ("sheep", "sheep", "", ""),
    ("shrimp", "shrimp", "shrimps", ""), ("species", "species", "", ""),
    ("swine", "swine", "swines", ""), ("trout", "trout", "trouts", ""), ("tuna", "tuna", "tunas", ""),
    ("you", "you", "", ""),
    ("child", "children", "", ""), ("ox", "oxen", "", "x"),
    ("foot", "feet", "", ""), ("goose", "geese", "", ""), ("man", "men", "", ""),
    ("human", "humans", "", ""), ("louse", "lice", "", "x"), ("mouse", "mice", "", ""),
    ("tooth", "teeth", "", ""), ("woman", "women", "", ""),
    ("die", "dice", "", "x"), ("person", "people", "", ""),
    ("adieu", "adieux", "adieus", ""), ("fabliau", "fabliaux", "", ""),
    ("bureau", "bureaus", "bureaux", ""),
    ("criterion", "criteria", "", ""), ("ganglion", "ganglia", "ganglions", ""),
    ("lexicon", "lexica", "lexicons", ""), ("mitochondrion", "mitochondria", "mitochondrions", ""),
    ("noumenon", "noumena", "", ""), ("phenomenon", "phenomena", "", ""), ("taxon", "taxa", "", ""),
    ("media", "media", "", ""), ("medium", "media", "mediums", "u"),
    ("stadium", "stadiums", "stadia", ""), ("aquarium", "aquaria", "aquariums", ""),
    ("auditorium", "auditoria", "auditoriums", ""), ("symposium", "symposia", "symposiums", ""),
    ("curriculum", "curriculums", "curricula", ""), ("quota", "quotas", "", ""),
    ("alumnus", "alumni", "alumnuses", ""), ("bacillus", "bacilli", "", ""),
    ("cactus", "cacti", "cactuses", ""), ("coccus", "cocci", "", ""), ("focus", "foci", "focuses", ""),
    ("locus", "loci", "locuses", ""), ("nucleus", "nuclei", "nucleuses", ""),
    ("octopus", "octupuses", "octopi", ""), ("radius", "radii", "radiuses", ""),
    ("syllabus", "syllabi", "", ""), ("corpus", "corpora", "corpuses", ""), ("genus", "genera", "", ""),
    ("alumna", "alumnae", "", ""), ("vertebra", "vertebrae", "", ""),
    ("differentia", "differentiae", "", ""), ("minutia", "minutiae", "", ""), ("vita", "vitae", "", ""),
    ("larva", "larvae", "", ""), ("postcava", "postcavae", "", ""), ("praecava", "praecavae", "", ""),
    ("uva", "uvae", "", ""),
    ("apex", "apices", "apexes", ""), ("codex", "codices", "codexes", ""),
    ("index", "indices", "indexes", ""), ("latex", "latices", "latexes", ""),
    ("vertex", "vertices", "vertexes", ""), ("vortex", "vortices", "vortexes", ""),
    ("appendix", "appendices", "appendixes", ""), ("radix", "radices", "radixes", ""),
    ("helix", "helices", "helixes", ""),
    ("axis", "axes", "", "x"), ("crisis", "crises", "", ""), ("ellipsis", "ellipses", "", "u"),
    ("genesis", "geneses", "", ""), ("oasis", "oases", "", ""), ("thesis", "theses", "", ""),
    ("testis", "testes", "", ""), ("base", "bases", "", ""), ("basis", "bases", "", "u"),
    ("alias", "aliases", "", "x"), ("vedalia", "vedalias", "", ""),
    ("use", "uses", "", "x"), ("abuse", "abuses", "", ""), ("cause", "causes", "", ""),
    ("clause", "clauses", "", ""), ("cruse", "cruses", "", ""), ("excuse", "excuses", "", ""),
    ("fuse", "fuses", "", ""), ("house", "houses", "", ""), ("misuse", "misuses", "", ""),
    ("muse", "muses", "", ""), ("pause", "pauses", "", ""), ("ache", "aches", "", ""),
    ("topaz", "topazes", "", ""), ("buffalo", "buffaloes", "buffalos", ""),
    ("potato", "potatoes", "", ""), ("tomato", "tomatoes", "", ""),
    ("equipment", "", "", "c"), ("information", "", "", "c"), ("jeans", "", "", "c"),
    ("money", "", "", "c"), ("news", "", "", "c"), ("rice", "", "", "c"),
    ("dwarf", "dwarfs", "dwarves", ""), ("hoof", "hoofs", "hooves", ""), ("thief", "thieves", "", ""),
    ("chive", "chives", "", ""), ("hive", "hives", "", ""), ("move", "moves", "", ""),
    ("movie", "movies", "", ""), ("cookie", "cookies", "", ""),
    ("pretorium", "pretoriums", "", ""), ("agenda", "agendas", "", ""),
    ("formula", "formulas", "formulae", ""),
    ("shoe", "shoes", "", ""), ("toe", "toes", "", "x"), ("graffiti", "graffiti", "", ""),
    ("ID", "IDs", "", "x"),
)

# flect plural_rules.go `singularToPluralSuffixList`; the order is the priority.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("tive", "tives"), ("eaf", "eaves"), ("oaf", "oaves"), ("afe", "aves"), ("arf", "arves"),
    ("rfe", "rves"), ("rf", "rves"), ("lf", "lves"), ("fe", "ves"),
    ("ay", "ays"), ("ey", "eys"), ("oy", "oys"), ("quy", "quies"), ("uy", "uys"), ("y", "ies"),
    ("eau", "eaux"),
    ("bula", "bulae"), ("dula", "bulae"), ("lula", "bulae"), ("nula", "bulae"), ("vula", "bulae"),
    ("hedron", "hedra"),
    ("ium", "ia"), ("seum", "seums"), ("eum", "ea"), ("oum", "oa"), ("stracum", "straca"),
    ("dum", "da"), ("elum", "ela"), ("ilum", "ila"), ("olum", "ola"), ("ulum", "ula"),
    ("llum", "lla"), ("ylum", "yla"), ("imum", "ima"), ("ernum", "erna"), ("gnum", "gna"),
    ("brum", "bra"), ("crum", "cra"), ("terum", "tera"), ("serum", "sera"), ("trum", "tra"),
    ("antum", "anta"), ("atum", "ata"), ("entum", "enta"), ("etum", "eta"), ("itum", "ita"),
    ("otum", "ota"), ("utum", "uta"), ("ctum", "cta"), ("ovum", "ova"),
    ("trix", "trices"),
    ("iasis", "iases"), ("mesis", "meses"), ("kinesis", "kineses"), ("resis", "reses"),
    ("gnosis", "gnoses"), ("opsis", "opses"), ("ysis", "yses"),
    ("ouse", "ouses"), ("lause", "lauses"), ("us", "uses"),
    ("ch", "ches"), ("io", "ios"), ("sh", "shes"), ("ss", "sses"), ("ez", "ezzes"), ("iz", "izzes"),
    ("tz", "tzes"), ("zz", "zzes"), ("ano", "anos"), ("lo", "los"), ("to", "tos"), ("oo", "oos"),
    ("o", "oes"), ("x", "xes"),
    ("S", "Ses"),
)


def _build_tables() -> tuple[dict[str, str], dict[str, str], tuple[tuple[str, str | None], ...]]:
    single_to_plural: dict[str, str] = {}
    plural_to_single: dict[str, str] = {}
    for singular, plural, alternative, flags in _DICTIONARY:
        plural = plural or singular  # uncountable
        single_to_plural[singular] = plural
        if "u" not in flags:
            plural_to_single[plural] = singular
            if alternative:
                plural_to_single[alternative] = singular
    # Each insertion puts (no-op for the plural, rule for the singular) at the front of the list.
    rules: list[tuple[str, str | None]] = []
    for singular, plural in reversed(_SUFFIXES):
        rules[:0] = [(plural, None), (singular, plural)]
    for singular, plural, _alternative, flags in _DICTIONARY:
        if "x" in flags:
            continue
        rules[:0] = [(plural or singular, None), (singular, plural or singular)]
    return single_to_plural, plural_to_single, tuple(rules)


_SINGLE_TO_PLURAL, _PLURAL_TO_SINGLE, _RULES = _build_tables()
_SPACES = "_ :-/"


def _go_is_space(c: str) -> bool:
    return c in _SPACES or c in "\t\n\v\f\r \x85\xa0" or (ord(c) > 0xFF and c.isspace())


def _is_letter_digit_punct(c: str) -> bool:
    category = unicodedata.category(c)
    return category[0] in "LP" or category == "Nd" or c == "`"


def _xappend(parts: list[str], word: str) -> None:
    word = word.strip()
    for ch in _SPACES:
        word = word.strip(ch)
    if word.upper() in _ACRONYMS:
        word = word.upper()
    if word:
        parts.append(word)


def _parts(s: str) -> list[str]:
    """flect `toParts` (v1.0.3), for the strings kro passes and ordinary identifiers."""
    s = s.strip()
    if not s:
        return []
    if s.upper() in _ACRONYMS:
        return [s.upper()]
    parts: list[str] = []
    prev = ""
    current = ""
    for c in s:
        if _go_is_space(c):
            _xappend(parts, current)
            current, prev = c, c
            continue
        if c.isupper() and not prev.isupper():
            _xappend(parts, current)
            current, prev = c, c
            continue
        if c.isupper() and current.upper() in _ACRONYMS:
            _xappend(parts, current)
            current, prev = c, c
            continue
        if _is_letter_digit_punct(c):
            current += c
            prev = c
            continue
        _xappend(parts, current)
        current, prev = "", c
    _xappend(parts, current)
    return parts


def _capitalize(s: str) -> str:
    return s[:1].title() + s[1:] if s else s


@lru_cache(maxsize=4096)
def pluralize(s: str) -> str:
    """flect.Pluralize(s) as in gobuffalo/flect v1.0.3."""
    parts = _parts(s)
    last = parts[-1] if parts else ""
    if not last:
        return ""
    if s in _SINGLE_TO_PLURAL:
        return _replace_suffix(s, s, _SINGLE_TO_PLURAL[s])
    if s in _PLURAL_TO_SINGLE:
        return s
    lower = last.lower()
    if lower in _PLURAL_TO_SINGLE:
        return s
    if lower in _SINGLE_TO_PLURAL:
        plural = _SINGLE_TO_PLURAL[lower]
        if last == _capitalize(last):
            plural = _capitalize(plural)
        return _replace_suffix(s, last, plural)
    for suffix, replacement in _RULES:
        if last.endswith(suffix):
            new = last if replacement is None else last[: len(last) - len(suffix)] + replacement
            return _replace_suffix(s, last, new)
    if lower.endswith("s"):
        return s
    return s + "s"


def _replace_suffix(original: str, old: str, new: str) -> str:
    """flect `Ident.ReplaceSuffix`: strings.TrimSuffix(original, old) + new."""
    return (original[: len(original) - len(old)] if old and original.endswith(old) else original) + new


def kind_plural(kind: str) -> str:
    """The `spec.names.plural` kro generates for `kind`."""
    return pluralize(kind.lower())


_DNS1035 = lazy_compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def plural_problem(kind: str) -> str | None:
    """Why the API server would reject the plural kro generates for `kind`, or None."""
    plural = kind_plural(kind)
    if not _DNS1035.match(plural) or len(plural) > 63:
        return (f"kro names the CRD after the plural {plural!r} (flect.Pluralize({kind.lower()!r})), "
                "which is not a lowercase DNS-1035 label, so the API server rejects the CRD")
    return None
