import Foundation
import OutpostTestSupport
import Testing

/// The report's HTML page in a real browser (Debian's chromium, headless): it renders to a PNG with no console
/// error, asks the network for nothing, every chart has a size, and the figures on it are the report's.
@Suite(.oneAtATime) struct ReportPageTests {
    static func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func browse(_ arguments: [String]) throws -> Outpost.Result {
        let browser = try #require(Self.chromium(), "chromium is not installed (tools/setup --tests installs it)")
        return Outpost.Result(
            try runProcess(
                browser,
                ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"] + arguments))
    }

    @Test func theReportPageRendersInABrowser() throws {
        let scratch = try Scratch()
        let shop = Outpost(directory: scratch.url, name: "shop")
        try shop("init", "--name", "shop")
        try shop("import", "shopify", ImportTests.fixtures.appendingPathComponent("shopify-orders.csv").path)
        try shop("import", "woocommerce", ImportTests.fixtures.appendingPathComponent("woocommerce-orders.jsonl").path)
        let page = scratch.url.appendingPathComponent("report.html")
        let made = try shop("report", "--since", "2026-11-16", "--until", "2026-11-30", "--html", page.path, "--json")
        #expect(made.status == 0, "\(made.stderr)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(!html.contains("<script"), "no script")
        #expect(
            !html.contains("http://")
                || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(!html.contains("https://"), "nothing from the network")
        let period = try #require(made.object["period"] as? [String: Any])
        #expect(html.contains(">\(period["orders"] as? Int ?? -1)<"), "the order count is on the page")
        let eur = (period["money"] as? [String: [String: Any]])?["EUR"]
        let revenue = try #require(eur?["revenue_minor"] as? Int)
        #expect(
            html.contains(String(format: "%d.%02d EUR", revenue / 100, revenue % 100)), "the revenue is on the page")

        // Rendered to a picture, with the browser's log: no console message, no failed load.
        let png = scratch.url.appendingPathComponent("report.png")
        let shot = try Self.browse([
            "--enable-logging=stderr", "--v=0", "--window-size=1000,1600", "--screenshot=\(png.path)",
            page.absoluteString,
        ])
        #expect(shot.status == 0, "\(shot.stderr)")
        let size = (try FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        #expect(size > 20_000, "a page with content, not a blank one: \(size) bytes")
        let console = shot.stderr.split(separator: "\n").filter {
            $0.contains("CONSOLE") || $0.contains("Failed to load resource") || $0.contains("Uncaught")
        }
        #expect(console.isEmpty, "\(console)")

        // Every chart's size as laid out: a page that frames the report and writes the sizes into itself.
        let probe = scratch.url.appendingPathComponent("probe.html")
        try """
        <!doctype html><html><body><iframe id="r" src="report.html" style="width:1000px;height:1600px"></iframe>
        <pre id="sizes"></pre><script>
        document.getElementById('r').onload = function () {
          var d = this.contentDocument, out = [];
          d.querySelectorAll('figure[data-chart]').forEach(function (f) {
            var r = f.querySelector('svg').getBoundingClientRect();
            out.push(f.getAttribute('data-chart') + ' ' + Math.round(r.width) + ' ' + Math.round(r.height));
          });
          document.getElementById('sizes').textContent = out.join('\\n');
        };
        </script></body></html>
        """.write(to: probe, atomically: true, encoding: .utf8)
        let dom = try Self.browse([
            "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom", probe.absoluteString,
        ])
        let sizes =
            dom.stdout.components(separatedBy: "<pre id=\"sizes\">").last?.components(separatedBy: "</pre>")
            .first?.split(separator: "\n").map { $0.split(separator: " ") } ?? []
        #expect(
            Set(sizes.compactMap { $0.first.map(String.init) })
                == ["orders-per-day", "time-to-ship", "return-reasons", "refunds-per-day"], "\(dom.stdout.suffix(400))")
        for chart in sizes {
            #expect(chart.count == 3 && (Int(chart[1]) ?? 0) > 100 && (Int(chart[2]) ?? 0) > 50, "\(chart)")
        }
    }
}
