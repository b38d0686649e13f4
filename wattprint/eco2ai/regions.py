"""ECO2AI's sub-regions (``alpha_2_code="US", region="California"``) as wattprint's location keys.

ECO2AI names a region by its English name inside a country: US states, Canadian provinces,
Australian states and territories, Russian federal subjects. wattprint's tables hold US states,
Canadian provinces and Australian states by name (``US-CA``, ``CA-QC``, ``AU-NSW``), and
Russia as Electricity Maps' three grid zones, so a Russian region maps to the zone its grid
belongs to (and the Australian Capital Territory to New South Wales, whose grid it is on). A region with no figure of its own resolves to the country's, with one warning
that names it.
"""

from __future__ import annotations

import warnings

from wattprint.core.errors import CarbonDataError

# Russian federal subjects, as ECO2AI spells them, by Electricity Maps zone: RU-1 is the
# European and Ural price zone, RU-2 the Siberian one, RU-AS the Far East. Kaliningrad
# (an isolated grid), Crimea and Sevastopol, and ECO2AI's ambiguous "Krasnoyarskiy" (listed
# among the southern regions) are in none of them here: they get Russia's figure.
_RUSSIA = {
    "RU-1": (
        "Belgorod Oblast", "Vladimir", "Voronezj", "Vologda", "Kostroma Oblast", "Kursk", "Orel Oblast",
        "Lipetsk Oblast", "Ryazan Oblast", "Bryansk Oblast", "Kaluga", "Smolensk", "Tambov", "Tver Oblast",
        "Tula", "Jaroslavl", "Moscow Oblast", "Ivanovo", "Moscow", "Astrakhan", "Volgograd Oblast", "Dagestan",
        "Adygeya Republic", "Kalmykiya Republic", "Rostov", "Ingushetiya Republic",
        "Kabardino-Balkariya Republic", "Karachayevo-Cherkesiya Republic", "North Ossetia", "Chechnya",
        "Stavropol’ Kray", "Stavropol Kray", "Penza", "Samara Oblast", "Saratovskaya Oblast", "Ulyanovsk",
        "Nizhny Novgorod Oblast", "Chuvashia", "Mariy-El Republic", "Mordoviya Republic", "Tatarstan Republic",
        "St.-Petersburg", "Murmansk", "Leningradskaya Oblast", "Novgorod Oblast", "Pskov Oblast", "Nenets",
        "Arkhangelsk Oblast", "Karelia", "Komi", "Bashkortostan Republic", "Udmurtiya Republic",
        "Khanty-Mansia", "Yamalo-Nenets", "Perm", "Kirov", "Kurgan Oblast", "Orenburg Oblast", "Sverdlovsk",
        "Tyumen’ Oblast", "Chelyabinsk",
    ),
    "RU-2": (
        "Altai", "Altay Kray", "Buryatiya Republic", "Tyva Republic", "Khakasiya Republic",
        "Transbaikal Territory", "Krasnoyarsk Krai", "Irkutsk Oblast", "Kemerovo Oblast", "Novosibirsk Oblast",
        "Omsk", "Tomsk Oblast",
    ),
    "RU-AS": (
        "Amur Oblast", "Primorskiy (Maritime) Kray", "Primorskiy Kray", "Khabarovsk", "Jewish Autonomous Oblast",
        "Sakha",
    ),
}


# Regions whose grid is another region's: the Australian Capital Territory draws on the New
# South Wales region of the National Electricity Market.
_WITHIN = {("AU", "act"): "AU-NSW", ("AU", "australiancapitalterritory"): "AU-NSW"}


def region_key(alpha_2_code: str, region: str) -> str | None:
    """wattprint's region key for ECO2AI's ``region`` inside ``alpha_2_code``, or None if it has none."""
    from wattprint.core.carbon.table import normalise, rows

    country, wanted = alpha_2_code.strip().upper(), normalise(region)
    if not wanted:
        return None
    if (country, wanted) in _WITHIN:
        return _WITHIN[country, wanted]
    if country == "RU":
        for key, names in _RUSSIA.items():
            if wanted in {normalise(n) for n in names}:
                return key
    for row in rows("region"):
        if row.iso2 != country or not row.key.startswith(country + "-"):
            continue
        if wanted in (normalise(row.name), normalise(row.key), normalise(row.key[len(country) + 1:])):
            return row.key
    return None


def resolve(alpha_2_code: str | None, region: str | None) -> dict[str, str]:
    """The location options (``country=`` or ``region=``) for ECO2AI's country and region.

    A region without a figure of its own, and a country code wattprint does not know, warn
    once; the first falls back to its country, the second to the world average.
    """
    from wattprint.core.carbon.table import lookup

    if alpha_2_code is None:
        return {}
    try:
        lookup(alpha_2_code, "country")
    except CarbonDataError:
        warnings.warn(
            f"wattprint.eco2ai: alpha_2_code={alpha_2_code!r} is no country in wattprint's tables; using the "
            "world average, as ECO2AI does. Pass an ISO 3166 alpha-2 code such as 'FR'",
            RuntimeWarning, stacklevel=3,
        )
        return {"country": "world"}
    if region is None:
        return {"country": alpha_2_code}
    key = region_key(alpha_2_code, region)
    if key is not None:
        return {"region": key}
    warnings.warn(
        f"wattprint.eco2ai: no carbon intensity for region {region!r} of {alpha_2_code}; using the country's figure "
        "(see `wattprint intensity --list region` for the regions with one)",
        RuntimeWarning, stacklevel=3,
    )
    return {"country": alpha_2_code}
