using Isaac.Core.Internal;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Isaac.Plugins;

namespace Isaac.Core.Routing;

/// <summary>Watches routed commands whose results were still to come and announces each as it arrives.</summary>
internal sealed class ResultInbox(CommandQueue queue, HubClient hub, Action<string> announce) : IAsyncDisposable
{
    private static readonly TimeSpan _interval = TimeSpan.FromSeconds(2);

    private BackgroundLoop? _loop;

    public void Start()
    {
        _loop ??= new BackgroundLoop("result inbox", PassAsync);
        _loop.Start();
    }

    private async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        foreach (var open in await queue.ListUnfinishedRoutedAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await hub.WaitAsync(open.Id, TimeSpan.Zero, cancellationToken).ConfigureAwait(false) is { } current && current.Status != open.Status)
            {
                await queue.TrackRoutedAsync(current, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var arrived in await queue.TakeArrivedAsync(cancellationToken).ConfigureAwait(false))
        {
            announce(Describe(arrived));
        }

        return _interval;
    }

    /// <summary>Above the prompt there is no room for boxes: a table comes as plain rows, every line marked with the device.</summary>
    public static string Describe(RoutedCommand arrived)
    {
        if (arrived.Status == RoutedStatus.InDoubt)
        {
            return $"[{arrived.Target}] {arrived.Text}: in doubt - {arrived.Error ?? "its agent stopped while it was running"} To run it again: !{arrived.Target} {arrived.Text}";
        }

        var lines = Lines(arrived).Select(line => $"[{arrived.Target}] {line}".TrimEnd());
        return $"[{arrived.Target}] {arrived.Text}: {arrived.Status}\n{string.Join('\n', lines)}";
    }

    private static IEnumerable<string> Lines(RoutedCommand arrived)
    {
        if (arrived.Result is not { } result)
        {
            return [arrived.Error ?? arrived.Status];
        }

        var text = (result.Stdout + result.Stderr).TrimEnd();
        var rows = result.Table is { Columns: { } columns, Rows: { } body } ? new[] { columns }.Concat(body).Select(row => string.Join("  ", row ?? [])) : [];
        return (text.Length > 0 ? text.Split('\n') : []).Concat(rows);
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop is { } loop)
        {
            await loop.DisposeAsync().ConfigureAwait(false);
        }
    }
}
