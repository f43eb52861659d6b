"""Writes the sample files the way Chinese Excel and 进销存 exports write them (README:
"Importing"). Run it again after changing it: ``python configs/import-samples/make_samples.py``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
SKUS = [("001001", "螺栓 M6×20", "五金", "个", 0.35, "SUP-01"),
        ("001002", "螺母 M6", "五金", "个", 0.12, "SUP-01"),
        ("002001", "电钻 500W", "工具", "台", 168.0, "SUP-02"),
        ("002002", "钻头套装", "工具", "套", 45.5, "SUP-02")]


def main() -> None:
    (HERE / "warehouses.csv").write_text(
        "仓库编码,仓库名称,区域\nWH-SH,上海仓,华东\nWH-BJ,北京仓,华北\n", encoding="utf-8-sig")
    (HERE / "suppliers.csv").write_text(
        "供应商编码,供应商名称,提前期(天),最小起订量,包装数量,联系电话\n"
        "SUP-01,宁波紧固件厂,7,1000,100,0574-0000000\nSUP-02,永康工具公司,12,10,5,0579-0000000\n",
        encoding="utf-8-sig")
    items = Workbook()
    sheet = items.active
    sheet.title = "商品档案"
    sheet.append(["XX五金商贸 商品档案"])
    sheet.append(["导出时间：2026-11-20"])
    sheet.append(["商品编码", "商品名称", "分类", "计量单位", "成本价", "默认供应商", "安全库存"])
    for code, name, category, unit, cost, supplier in SKUS:
        sheet.append([int(code), name, category, unit, cost, supplier, 50])
    for row in range(4, 4 + len(SKUS)):
        sheet.cell(row=row, column=1).number_format = "000000"  # Excel shows the zeros
    items.save(HERE / "items.xlsx")
    stock = ["XX五金商贸 库存余额表", "统计日期：2026-11-20,,,,,",
             "存货编码,存货名称,仓库,现存数量,可用量,在途数量"]
    stock += ['001001,螺栓 M6×20,上海仓,"1,200",1150,', "001002,螺母 M6,上海仓,80,80,",
              "002001,电钻 500W,北京仓,6,4,", ",,,,,",
              "存货编码,存货名称,仓库,现存数量,可用量,在途数量",
              "002002,钻头套装,北京仓,30,30,", '合计,,,"1,316",,']
    (HERE / "stock-gbk.csv").write_bytes(("\r\n".join(stock) + "\r\n").encode("gbk"))
    lines = ["日期,商品编码,门店,销量"]
    start = date(2026, 10, 23)
    for day in range(28):
        for code, qty in (("001001", 40 + day % 7 * 5), ("001002", 8 + day % 3),
                          ("002001", day % 2)):
            if qty:
                shop = "WH-BJ" if code == "002001" else "WH-SH"
                lines.append(f"{start + timedelta(days=day):%Y/%m/%d},{code},{shop},{qty}")
    (HERE / "daily-sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (HERE / "moves.csv").write_text(
        "单据日期,单据编号,业务类型,商品编码,仓库,调入仓库,数量\n"
        "2026-11-19,RK-001,采购入库,001002,WH-SH,,500\n"
        "2026-11-19,DB-001,调拨,002002,WH-BJ,WH-SH,10\n"
        "2026-11-20,PK-001,盘亏,001001,WH-SH,,3\n", encoding="utf-8")
    orders = Workbook()
    sheet = orders.active
    sheet.title = "采购订单执行"
    sheet.append(["采购订单号", "行号", "供应商", "存货编码", "仓库", "数量", "累计入库数量",
                  "预计到货日期", "状态"])
    sheet.append(["PO-2611-01", 1, "SUP-01", "001001", "WH-SH", 2000, 500, date(2026, 11, 27),
                  "执行中"])
    sheet.append(["PO-2611-02", 1, "SUP-02", "002001", "WH-BJ", 10, 0, date(2026, 12, 2), "执行中"])
    sheet.append(["PO-2610-07", 1, "SUP-02", "002002", "WH-BJ", 20, 0, None, "已关闭"])
    orders.save(HERE / "purchase-orders.xlsx")


if __name__ == "__main__":
    main()
