"""The import engine's messages said in the viewer's language on the pages: each shape the
engine writes (a row's reason, a file refused, a run's end, an ERP's page), the values kept."""

from __future__ import annotations

from typing import Any

import pytest

from admin.web import import_messages as im


@pytest.mark.parametrize("say, text, zh", [
    (im.reason, "销量: '五' is not a number", "销量: “五”不是数字"),
    (im.reason, "仓库: warehouse '火星仓' does not exist (neither a code nor a name)",
     "仓库: 仓库“火星仓”不存在（既不是编码也不是名称）"),
    (im.reason, "商品编码: code '001' is already in row 2", "商品编码: 编码“001”已出现在第 2 行"),
    (im.reason, "default_code: the product has no internal reference (default_code)",
     "default_code: 该产品没有内部参考号（default_code）"),
    (im.message, "3 bad row(s); nothing was imported (fix them, or import the rest with "
                 "skip_bad / --skip-bad)", "3 行有问题；未导入任何数据（请修正，或勾选“跳过问题行”导入其余行）"),
    (im.message, "odoo: stock.quant: cannot connect to http://127.0.0.1:9: [Errno 111] refused",
     "odoo: stock.quant: 无法连接 http://127.0.0.1:9：[Errno 111] refused"),
    (im.message, "csv: a.csv: this is not a text (CSV) file: it holds binary data",
     "csv: a.csv: 这不是文本（CSV）文件：其中含有二进制数据"),
    (im.where, "product.product page 2 (after 2024-05-20 id 2), product id 3",
     "product.product 第 2 页 （2024-05-20 id 2 之后）, product id 3"),
    (im.note, "encoding gb18030, delimiter ','", "编码 gb18030，分隔符 ','"),
    (im.connected, "Odoo 17.0, database prod: 3 storable products, 2 warehouses",
     "Odoo 17.0，数据库 prod：3 个库存产品，2 个仓库"),
])
def test_the_engine_s_messages_in_chinese_and_as_they_are_in_english(
        app: Any, say: Any, text: str, zh: str) -> None:
    with app.test_request_context(headers={"Cookie": "lang=zh"}):
        assert say(text) == zh
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert say(text) == text or say is im.message  # English: the engine's words


def test_a_message_of_no_known_shape_is_shown_as_it_is(app: Any) -> None:
    with app.test_request_context(headers={"Cookie": "lang=zh"}):
        assert im.message("fakeerp: login: the key was refused") == (
            "fakeerp: login: the key was refused")
        assert im.reason("") == "" and im.where(None) == ""
