using System.Diagnostics;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Fuzz;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Security;

/// <summary>Issue 9, finding 4: one small hostile manifest costs milliseconds and megabytes, and the others still load.</summary>
[Collection(FuzzCollection.Name)]
public sealed class HostileManifestTests : IDisposable
{
    // Generous: the loader needs a few milliseconds and well under a megabyte for these files.
    private static readonly TimeSpan _timeLimit = TimeSpan.FromSeconds(2);
    private const long MemoryLimit = 64L << 20;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Parses on this thread, measuring the bytes this thread allocated and the time it took.</summary>
    private static async Task<(ManifestLoadResult Result, long Allocated, TimeSpan Elapsed)> MeasureAsync(string path, string text)
    {
        var schema = await ManifestSchema.GetAsync();
        ManifestLoader.Parse(path, "version: \"1.0\"\n", schema); // warm up: first-use costs are not the input's
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var result = ManifestLoader.Parse(path, text, schema);
        return (result, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
    }

    [Fact]
    public void The_alias_bomb_is_the_566_byte_file_from_the_issue() =>
        Assert.Equal(566, HostileYaml.AliasBomb().Length);

    [Fact(Timeout = 15_000)]
    public async Task The_566_byte_alias_bomb_is_refused_within_time_and_memory_bounds()
    {
        // Act
        var (result, allocated, elapsed) = await MeasureAsync("/x/command.yaml", HostileYaml.AliasBomb());

        // Assert
        Assert.Null(result.Command);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("yaml", problem.Rule);
        Assert.Contains("aliases expand the manifest past 10000 nodes", problem.Message);
        Assert.True(problem.Line > 1, problem.ToString());
        Assert.True(elapsed < _timeLimit, $"took {elapsed}");
        Assert.True(allocated < MemoryLimit, $"allocated {allocated:N0} bytes");
    }

    [Fact(Timeout = 15_000)]
    public async Task Deep_nesting_under_the_size_cap_is_refused_within_time_and_memory_bounds()
    {
        // Arrange: 30,000 levels in 60 KB, under the 64 KiB cap, so the depth cap is what stops it.
        var text = HostileYaml.NestedFlow(30_000);
        Assert.True(text.Length < ManifestLoader.MaxBytes);

        // Act
        var (result, allocated, elapsed) = await MeasureAsync("/x/command.yaml", text);

        // Assert
        var problem = Assert.Single(result.Problems);
        Assert.Contains($"nests deeper than {YamlJson.MaxDepth} levels", problem.Message);
        Assert.Equal((1, 3 + YamlJson.MaxDepth), (problem.Line, problem.Column)); // the root mapping is level 1
        Assert.True(elapsed < _timeLimit, $"took {elapsed}");
        Assert.True(allocated < MemoryLimit, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public async Task A_file_over_64_KiB_is_refused_unread()
    {
        var path = _dir.Write("big/command.yaml", HostileYaml.NestedFlowOfSize(200_000));

        var result = await new ManifestLoader().LoadAsync(path);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("too-large", problem.Rule);
        Assert.Contains("the file is 200000 bytes", problem.Message);
        Assert.Contains("at most 65536 bytes (64 KiB)", problem.Message);
    }

    [Fact]
    public async Task A_manifest_that_is_a_link_to_an_endless_file_is_refused_after_64_KiB()
    {
        // /dev/zero reports length 0, so only a capped read stops it.
        Directory.CreateDirectory(_dir.Combine("zero"));
        File.CreateSymbolicLink(_dir.Combine("zero", "command.yaml"), "/dev/zero");

        var result = await new ManifestLoader().LoadAsync(_dir.Combine("zero", "command.yaml"));

        Assert.Equal("too-large", Assert.Single(result.Problems).Rule);
    }

    [Theory]
    [InlineData("a: &x [1]\nb: *y\n", "alias '*y' refers to no anchor defined before it")]
    [InlineData("a: &x [*x]\n", "alias '*x' refers to no anchor defined before it")]
    [InlineData("a: 1\na: 2\n", "key 'a' appears twice")]
    [InlineData("[a]: 1\n", "a key must be plain text")]
    [InlineData("a: 1\n---\nb: 2\n", "expected exactly one YAML document, found more than one")]
    [InlineData("", "expected exactly one YAML document, found none")]
    public async Task Malformed_structure_is_reported_in_one_line(string yaml, string expected)
    {
        var (result, _, _) = await MeasureAsync("/x/command.yaml", yaml);

        var problem = Assert.Single(result.Problems);
        Assert.Contains(expected, problem.Message);
        Assert.DoesNotContain('\n', problem.ToString());
    }

    [Fact]
    public async Task Anchors_and_aliases_within_the_budget_still_work()
    {
        _dir.Write("ok/run.sh", "");
        var path = _dir.Write("ok/command.yaml", """
            version: "1.0"
            command: { name: ok, description: &d "shared text" }
            arguments:
              - { name: one, description: *d }
            runtime: { handler: run.sh, interpreter: sh }
            """);

        var command = await TestManifests.LoadAsync(path);

        Assert.Equal("shared text", command.Manifest.Arguments[0].Description);
    }

    [Fact(Timeout = 60_000)]
    public async Task Isaac_still_starts_and_runs_a_good_command_next_to_hostile_manifests()
    {
        // Arrange: the issue's files in a real ISAAC_HOME, next to a good command.
        var home = _dir.Combine("home");
        var commands = Path.Combine(home, "commands");
        TestManifests.Script(commands, "good", """echo '{"status": "success", "stdout": "good ran"}'""");
        _dir.Write("home/commands/x/command.yaml", HostileYaml.AliasBomb());
        _dir.Write("home/commands/deep/command.yaml", HostileYaml.NestedFlowOfSize(200_000));
        _dir.Write("home/commands/nested/command.yaml", HostileYaml.NestedFlow(30_000));

        // Act
        var good = await IsaacProcess.RunAsync(home, "-c", "/good");
        var broken = await IsaacProcess.RunAsync(home, "-c", "/x");
        var validate = await IsaacProcess.RunAsync(home, "validate");

        // Assert
        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.Contains("good ran", good.Stdout);
        var line = Assert.Single((broken.Stdout + broken.Stderr).Split('\n'), l => l.Contains("Unknown command '/x'"));
        Assert.Contains($"{Path.Combine(commands, "x", "command.yaml")}:", line);
        Assert.Contains("aliases expand the manifest past", line);
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains(validate.Stdout.Split('\n'), l => l.Contains("/x/command.yaml:") && l.Contains("aliases expand"));
        Assert.Contains(validate.Stdout.Split('\n'), l => l.Contains("/deep/command.yaml:") && l.Contains("too-large"));
        Assert.Contains(validate.Stdout.Split('\n'), l => l.Contains("/nested/command.yaml:") && l.Contains("nests deeper"));
        Assert.Contains("ok    good", validate.Stdout);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("truncated")]
    [InlineData("garbage")]
    public async Task Isaac_still_starts_with_a_damaged_manifest_cache(string damage)
    {
        // Arrange: a real cache written by a first start, then damaged.
        var home = _dir.Combine("home");
        TestManifests.Script(Path.Combine(home, "commands"), "good", """echo '{"status": "success", "stdout": "good ran"}'""");
        Assert.Equal(0, (await IsaacProcess.RunAsync(home, "-c", "/good")).ExitCode);
        var cacheFile = Path.Combine(home, "cache", "manifests.json");
        var bytes = File.ReadAllBytes(cacheFile);
        File.WriteAllBytes(cacheFile, damage == "truncated" ? bytes[..(bytes.Length / 3)] : [.. bytes.Select((b, i) => (byte)(b ^ (i * 37)))]);

        // Act
        var run = await IsaacProcess.RunAsync(home, "-c", "/good");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("good ran", run.Stdout);
    }
}
