using System.Text.RegularExpressions;
using Isaac.Core.Manifests;

namespace Isaac.Core.Tests.Manifests;

/// <summary>A trigger rules a line out by its literal head without the regex engine, and never rules out a line its pattern matches.</summary>
public sealed class TriggerHeadTests
{
    private static readonly string[] _patterns =
    [
        "^route\\s+(?<device>[A-Za-z0-9]+)\\s+(?<text>.+)$", "^sysinfo(\\s+(.*))?$", "^(help|\\?)(\\s+(.*))?$", "^ab|cd", "^helpx?$",
        "^helpx*", "^helpx{0,2}$", "^a[|]b|c", "^a(b|c)d", "^a\\|b", "^ab[^]|]c|x", "sysinfo", "^$", "^a.b", "^hel{2}o", "^x(?i)Y",
    ];

    private static readonly string[] _inputs =
    [
        "route laptop2 /x", "sysinfo", "sysinfo json", "help", "? x", "ab", "cd", "help", "helpx", "hel", "a|b", "c", "abd", "acd",
        "a\\b", "ab]c", "x", "", "axb", "hello", "helo", "xy", "xY", "mysysinfo",
    ];

    [Fact]
    public void A_line_the_pattern_matches_is_never_ruled_out_by_the_head()
    {
        foreach (var pattern in _patterns)
        {
            var trigger = new CompiledTrigger(new TriggerSpec { Pattern = pattern });
            foreach (var input in _inputs.Where(i => Regex.IsMatch(i, pattern, RegexOptions.CultureInvariant)))
            {
                Assert.True(trigger.MightMatch(input), $"'{pattern}' matches '{input}' but its head ruled it out");
            }
        }
    }

    [Fact]
    public void A_line_that_does_not_start_with_the_literal_head_is_ruled_out()
    {
        Assert.False(new CompiledTrigger(new TriggerSpec { Pattern = "^route\\s+(.+)$" }).MightMatch("help"));
        Assert.False(new CompiledTrigger(new TriggerSpec { Pattern = "^sysinfo(\\s+(.*))?$" }).MightMatch("sys"));
        Assert.True(new CompiledTrigger(new TriggerSpec { Pattern = "^(help|\\?)(\\s+(.*))?$" }).MightMatch("anything"));
        Assert.True(new CompiledTrigger(new TriggerSpec { Pattern = "^ab|cd" }).MightMatch("cd"));
    }
}
