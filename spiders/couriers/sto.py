from spiders.couriers.base import CourierPageSpider


class StoSpider(CourierPageSpider):
    name = "sto"
    courier = "sto"
