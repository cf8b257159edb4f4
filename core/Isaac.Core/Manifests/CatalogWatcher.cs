using Isaac.Core.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Manifests;

/// <summary>
/// Keeps a <see cref="CommandCatalog"/> current while the interactive shell runs: any change under the manifest roots
/// (a new, edited or deleted manifest, a rebuilt plugin) reloads the catalog once the files have been quiet for
/// <see cref="Quiet"/>, and the catalog swaps to the new snapshot. Only the interactive shell watches; a one-line
/// <c>isaac -c</c> never starts one (start-up cost, docs/BENCHMARKS.md).
/// </summary>
internal sealed class CatalogWatcher : IAsyncDisposable
{
    /// <summary>How long the files must stay unchanged before a reload: an editor's save or a build writes several times.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly CommandCatalog _catalog;
    private readonly PluginCatalog _plugins;
    private readonly IReadOnlyList<string> _roots;
    private readonly ILogger _logger;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _debounce;
    private readonly Lock _gate = new();
    private Task _reload = Task.CompletedTask;
    private bool _disposed;

    public CatalogWatcher(CommandCatalog catalog, PluginCatalog plugins, IReadOnlyList<string> roots, ILogger? logger = null)
    {
        _catalog = catalog;
        _plugins = plugins;
        _roots = roots;
        _logger = logger ?? NullLogger.Instance;
        _debounce = new Timer(_ => StartReload());
        foreach (var root in roots.Where(Directory.Exists))
        {
            var watcher = new FileSystemWatcher(root)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            watcher.Changed += Touched;
            watcher.Created += Touched;
            watcher.Deleted += Touched;
            watcher.Renamed += Touched;
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    private void Touched(object sender, FileSystemEventArgs e)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _debounce.Change(Quiet, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void StartReload()
    {
        lock (_gate)
        {
            // Reloads run one after another, never in parallel: the last one always sees the last change.
            _reload = _disposed ? _reload : _reload.ContinueWith(_ => ReloadAsync(), TaskScheduler.Default).Unwrap();
        }
    }

    private async Task ReloadAsync()
    {
        try
        {
            var loaded = await CommandCatalog.LoadAsync(new ManifestLoader(), _roots).ConfigureAwait(false);
            _catalog.ReplaceWith(loaded);
            _logger.LogInformation("Commands reloaded: {Count} loaded, {Problems} problem(s)", loaded.Commands.Count, loaded.Problems.Count);
            foreach (var problem in loaded.Problems)
            {
                _logger.LogWarning("{Problem}", problem.ToString());
            }

            foreach (var leak in _plugins.Refresh(loaded.Commands))
            {
                _logger.LogWarning("{Leak}", leak);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A folder vanished mid-scan: the next change (or the one that removed it) reloads again.
            _debounce.Change(Quiet, Timeout.InfiniteTimeSpan);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task reload;
        lock (_gate)
        {
            _disposed = true;
            reload = _reload;
        }

        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        await _debounce.DisposeAsync().ConfigureAwait(false);
        await reload.ConfigureAwait(false);
    }
}
