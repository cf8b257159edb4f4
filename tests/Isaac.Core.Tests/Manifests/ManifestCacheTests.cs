using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Manifests;

public sealed class ManifestCacheTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string CacheFile => _dir.Combine("cache", "manifests.bin");

    private async Task<ManifestLoadResult> LoadThroughCacheAsync(string manifest)
    {
        var cache = ManifestCache.Open(CacheFile);
        var result = await new ManifestLoader(cache).LoadAsync(manifest);
        cache.Save();
        return result;
    }

    [Fact]
    public async Task A_cached_manifest_comes_back_equal_to_the_parsed_one()
    {
        // Arrange: a manifest that sets every field.
        _dir.Write("full/run.py", "");
        var path = _dir.Write("full/command.yaml", """
            version: "1.0"
            command: { name: full, description: "all fields", category: test }
            triggers:
              - { prefix: "@", pattern: "^full(\\s+(.*))?$", capture: rest }
              - { pattern: "^f$" }
            arguments:
              - { name: one, description: "first", required: true }
            runtime: { handler: run.py, kind: script, interpreter: python3, class: X.Y, timeout_ms: 1234, stdin: false }
            security: { tier: 2, env: [A, B], resources: { max_stdout_kib: 7, max_stderr_kib: 9 } }
            queue: { allowed: false, ttl_seconds: 60, coalesce_key: full, parallel: true }
            """);
        var parsed = await LoadThroughCacheAsync(path);

        // Act
        var cached = ManifestCache.Open(CacheFile).TryGet(path, FileStamp.Of(path));

        // Assert
        Assert.NotNull(cached);
        Assert.Equal(Json(parsed.Command!.Manifest), Json(cached));
    }

    [Fact]
    public async Task An_edited_manifest_is_validated_again()
    {
        _dir.Write("edit/run.sh", "");
        var path = _dir.Write("edit/command.yaml", "version: \"1.0\"\ncommand:\n  name: edit\nruntime:\n  handler: run.sh\n");
        Assert.NotNull((await LoadThroughCacheAsync(path)).Command);

        File.WriteAllText(path, "version: \"1.0\"\ncommand:\n  name: edit\nruntime:\n  handler: run.sh\n  timeout_ms: never\n");
        var result = await LoadThroughCacheAsync(path);

        Assert.Null(result.Command);
        Assert.Contains(result.Problems, p => p.Message.Contains("runtime.timeout_ms"));
    }

    [Fact]
    public async Task A_cached_manifest_still_has_its_handler_checked()
    {
        var handler = _dir.Write("gone/run.sh", "");
        var path = _dir.Write("gone/command.yaml", "version: \"1.0\"\ncommand:\n  name: gone\nruntime:\n  handler: run.sh\n");
        Assert.NotNull((await LoadThroughCacheAsync(path)).Command);

        File.Delete(handler);
        var result = await LoadThroughCacheAsync(path);

        Assert.Equal("handler-missing", Assert.Single(result.Problems).Rule);
    }

    [Fact]
    public async Task A_corrupt_cache_file_is_ignored()
    {
        _dir.Write("ok/run.sh", "");
        var path = _dir.Write("ok/command.yaml", "version: \"1.0\"\ncommand:\n  name: ok\nruntime:\n  handler: run.sh\n");
        await LoadThroughCacheAsync(path);
        var bytes = File.ReadAllBytes(CacheFile);
        File.WriteAllBytes(CacheFile, bytes[..(bytes.Length / 2)]);

        var cache = ManifestCache.Open(CacheFile);
        var before = cache.TryGet(path, FileStamp.Of(path));
        var result = await new ManifestLoader(cache).LoadAsync(path);

        Assert.Null(before);
        Assert.NotNull(result.Command);
    }

    private static string Json(CommandManifest manifest) => System.Text.Json.JsonSerializer.Serialize(manifest);
}
