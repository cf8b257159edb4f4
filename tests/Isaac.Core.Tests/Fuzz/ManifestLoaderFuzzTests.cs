using CsCheck;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>Issue 9, item 8: random, mutated and hostile YAML either loads or is refused with a clear message; never a crash, a hang or a heap blow-up.</summary>
[Collection(FuzzCollection.Name)]
public sealed class ManifestLoaderFuzzTests : IDisposable
{
    // Each property runs for this many seconds (or until its iteration count), so CI stays fast.
    private const int Seconds = 3;
    private const long MemoryLimit = 64L << 20;

    private const string Valid = """
        version: "1.0"
        command: { name: fuzz, description: "a fuzzed command", category: test }
        triggers:
          - { prefix: "/", pattern: "^fuzz(\\s+(.*))?$", capture: args }
        arguments:
          - { name: who, required: false }
        runtime: { handler: run.sh, interpreter: sh, timeout_ms: 1000 }
        security: { tier: 1, env: [A], resources: { max_stdout_kib: 8 } }
        queue: { allowed: true, ttl_seconds: 60 }
        """;

    private static readonly string[] _tokens =
    [
        "[", "]", "{", "}", ":", ": ", ",", "- ", " ", "  ", "\n", "\t", "&a ", "*a", "&b ", "*b", "\"", "'", "x", "42", "-1e999",
        "null", "~", "true", "!!str ", "!tag ", "---\n", "...\n", "# c\n", "|\n", ">-\n", "? ", "%YAML 1.2\n", "<<: ", "\\", "\u00e9", "\u0000",
        "version", "command", "name", "runtime", "handler", "interpreter", "triggers", "pattern", "security", "tier",
    ];

    private readonly TempDir _dir = new();
    private readonly string _path;

    public ManifestLoaderFuzzTests()
    {
        _dir.Write("fuzz/run.sh", "echo '{}'\n");
        _path = _dir.Combine("fuzz", "command.yaml");
    }

    public void Dispose() => _dir.Dispose();

    private static readonly Gen<string> _tokenSoup =
        Gen.OneOf(_tokens).Array[0, 200].Select(string.Concat);

    private static readonly Gen<string> _mutated =
        Gen.Select(Gen.Int[0, Valid.Length], Gen.Int[0, 20], Gen.OneOf(_tokens).Array[0, 5],
            (at, cut, insert) => Valid[..at] + string.Concat(insert) + Valid[Math.Min(Valid.Length, at + cut)..]);

    private static readonly Gen<string> _aliasBombs =
        Gen.Select(Gen.Int[1, 12], Gen.Int[2, 12], (levels, width) => HostileYaml.AliasBomb(width, levels));

    private static readonly Gen<string> _deepNesting =
        Gen.Select(Gen.Int[1, 20_000], Gen.OneOf("[", "{a: ", "- ", "{"), (depth, open) =>
            "a: " + string.Concat(Enumerable.Repeat(open, depth)));

    private void LoadsOrIsRefusedClearly(string yaml)
    {
        var schema = ManifestSchema.GetAsync().GetAwaiter().GetResult();
        var before = GC.GetAllocatedBytesForCurrentThread();

        var result = ManifestLoader.Parse(_path, yaml, schema);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < MemoryLimit, $"allocated {allocated:N0} bytes");
        Assert.True(result.Command is not null || result.Problems.Count > 0, "refused without a reason");
        foreach (var problem in result.Problems)
        {
            Assert.Equal(_path, problem.File);
            Assert.False(string.IsNullOrWhiteSpace(problem.Message), problem.ToString());
            Assert.DoesNotContain('\n', problem.ToString());
        }
    }

    [Fact]
    public async Task The_valid_seed_loads() =>
        Assert.NotNull(ManifestLoader.Parse(_path, Valid, await ManifestSchema.GetAsync()).Command);

    [Fact]
    public void Random_token_soup_loads_or_is_refused_clearly() =>
        _tokenSoup.Sample(LoadsOrIsRefusedClearly, iter: 100_000, time: Seconds);

    [Fact]
    public void A_mutated_valid_manifest_loads_or_is_refused_clearly() =>
        _mutated.Sample(LoadsOrIsRefusedClearly, iter: 100_000, time: Seconds);

    [Fact]
    public void Generated_alias_bombs_are_refused_within_bounds() =>
        _aliasBombs.Sample(LoadsOrIsRefusedClearly, iter: 100_000, time: Seconds);

    [Fact]
    public void Deep_nesting_of_any_kind_is_refused_within_bounds() =>
        _deepNesting.Sample(LoadsOrIsRefusedClearly, iter: 100_000, time: Seconds);
}
